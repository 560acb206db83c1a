package evaluation

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
)

func TestFormsAndWriteForms(t *testing.T) {
	lex, err := lexicon.Load(fstest.MapFS{"abuse.yaml": {Data: []byte("category: abuse\nentries:\n  - pattern: バカ\n    weight: 0.9\n    variants: [アホ]\n")}})
	if err != nil {
		t.Fatal(err)
	}
	an, err := classifier.NewAnalyzer()
	if err != nil {
		t.Fatal(err)
	}
	forms, err := Forms(lex, "mylex", "バカ", classifier.Options{Analyzer: an})
	if err != nil {
		t.Fatal(err)
	}
	if len(forms) != 1 || forms[0].File != "mylex/abuse.yaml" || forms[0].Line != 3 || len(forms[0].Phrases) != 2 {
		t.Fatalf("forms %+v, want バカ at mylex/abuse.yaml:3 with two phrases", forms)
	}
	var b strings.Builder
	if err := WriteForms(&b, forms); err != nil {
		t.Fatal(err)
	}
	want := "mylex/abuse.yaml:3: abuse entry \"バカ\", weight 0.90, 2 phrases\n" +
		"  \"バカ\": " + forms[0].Phrases[0].Patterns[0] + "\n" +
		"  \"アホ\": " + forms[0].Phrases[1].Patterns[0] + "\n"
	if b.String() != want {
		t.Errorf("WriteForms:\n%s\nwant:\n%s", b.String(), want)
	}
	if _, err := Forms(lex, "", "バカだ", classifier.Options{Analyzer: an}); err == nil || !strings.HasPrefix(err.Error(), "forms: ") {
		t.Errorf("unknown entry: err = %v, want one starting forms:", err)
	}
}

func TestWriteLint(t *testing.T) {
	var out, errOut strings.Builder
	WriteLint(&out, &errOut, LintReport{Errors: []Problem{{"a.yaml", 3, "bad"}}})
	if out.String() != "a.yaml:3: bad\n" || errOut.Len() != 0 {
		t.Errorf("problems: %q, %q", out.String(), errOut.String())
	}
	out.Reset()
	WriteLint(&out, &errOut, LintReport{OK: true, Entries: 2, Version: "v1", Coverage: &Coverage{
		Corpora: []string{"c.jsonl"}, BadLines: []Problem{{"c.jsonl", 4, "invalid JSON at byte 1"}},
		Findings: []CoverageFinding{{Problem: Problem{"a.yaml", 3, "abuse entry \"x\" never fires on the corpus"}}}, Summary: "coverage: 1 messages"}})
	want := "ok: 2 entries, lexicon version v1\na.yaml:3: abuse entry \"x\" never fires on the corpus\ncoverage: 1 messages; 1 corpus files, 1 bad lines\n"
	if out.String() != want || errOut.String() != "c.jsonl:4: invalid JSON at byte 1\n" {
		t.Errorf("coverage: %q, %q; want %q and the bad line on stderr", out.String(), errOut.String(), want)
	}
}
