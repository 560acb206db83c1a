package classifier

import (
	"fmt"
	"strings"
	"testing"
)

func TestExplanationWriteText(t *testing.T) {
	c := newTest(t, map[string]string{"threat.yaml": "category: threat\nentries:\n  - pattern: 殺す\n    weight: 1.0\n"}, Options{})
	x, err := c.Explain("殺すぞ")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := x.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"label:       harassment\n",
		"lexicon:     " + x.LexiconVersion + "\n",
		"normalised:  \"殺すぞ\"\n",
		"\ncategories:\n  threat  1.0000\n",
		fmt.Sprintf("  [0,2)  \"殺す\"  threat  \"殺す\"  weight 1.00 (intensified)  intent  %s\n", x.Matches[0].Source),
		"\ntokens:\n  span   surface  lemma  part of speech",
		"  [0,2)  殺す       殺す",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	x, _ = c.Explain("発送はいつですか")
	b.Reset()
	x.WriteText(&b)
	if !strings.Contains(b.String(), "categories:\n  (none)\n") || !strings.Contains(b.String(), "matches:\n  (none)\n") {
		t.Errorf("a clean message does not say (none):\n%s", b.String())
	}
}

// The text names each token's classes and each match's mood: what a frame
// matched on.
func TestExplanationWriteTextClasses(t *testing.T) {
	c := classClassifier(t, classLexicon)
	x, err := c.Explain("お前はクズだ")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := x.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"{addressee}…{insult}", "  plain  abuse.yaml:", "{addressee}", "{insult}", "part of speech  form  classes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
