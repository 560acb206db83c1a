package classifier

import (
	"fmt"
	"testing"

	"github.com/kasuhara/kasuhara/lexicon"
)

// TestDefaultLexiconExamples lints the default lexicon: every entry's own
// tests (each example must make the entry fire, each counter-example must
// not) and every other check of Lint.
func TestDefaultLexiconExamples(t *testing.T) {
	lex, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range Lint(lex, Options{Analyzer: sharedAnalyzer(t)}) {
		t.Error(err)
	}
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
