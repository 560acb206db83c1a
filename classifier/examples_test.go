package classifier

import (
	"fmt"
	"testing"

	"github.com/kasuhara/kasuhara/lexicon"
)

// TestDefaultLexiconExamples runs every entry's own tests: each example must
// make the entry fire, each counter-example must not.
func TestDefaultLexiconExamples(t *testing.T) {
	lex, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(lex, Options{Analyzer: sharedAnalyzer(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lex.Entries {
		for _, ex := range e.Examples {
			if !fires(t, c, e, ex) {
				t.Errorf("%s: %s entry %q does not match its example %q", e.Pos, e.Category, e.Pattern, ex)
			}
		}
		for _, ex := range e.CounterExamples {
			if fires(t, c, e, ex) {
				t.Errorf("%s: %s entry %q matches its counter-example %q", e.Pos, e.Category, e.Pattern, ex)
			}
		}
	}
}

func fires(t *testing.T, c *Classifier, e lexicon.Entry, text string) bool {
	r, err := c.Classify(text)
	if err != nil {
		t.Fatalf("%s: %v", e.Pos, err)
	}
	for _, m := range r.Matches {
		if m.Entry == e.Pattern && m.Category == e.Category {
			return true
		}
	}
	return false
}

func Example() {
	lex, err := lexicon.Default()
	if err != nil {
		panic(err)
	}
	c, err := New(lex, Options{})
	if err != nil {
		panic(err)
	}
	for _, text := range []string{
		"注文した商品の発送日を教えてください。",
		"殺虫剤はペットがいても使えますか？",
		"責任者を出してください。",
		"ふざけるな、殺すぞ",
	} {
		r, err := c.Classify(text)
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Label)
	}
	// Output:
	// routine
	// routine
	// escalate
	// harassment
}
