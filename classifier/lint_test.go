package classifier

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

// lintProblem is an error Lint must report: where, and words its message
// must carry (what was wrong and what was expected).
type lintProblem struct {
	file string
	line int
	has  []string
}

func TestLint(t *testing.T) {
	tests := []struct {
		dir  string
		want []lintProblem
	}{
		{"lint-clean", nil},
		{"lint-no-words", []lintProblem{
			{"abuse.yaml", 5, []string{`pattern "を" has no words`, "expect at least one word that is not punctuation or a particle"}},
		}},
		{"lint-gap", []lintProblem{
			{"coercion.yaml", 5, []string{`"土下座……しろ" has two gaps in a row`, "expect words between gaps"}},
		}},
		{"lint-shadowed", []lintProblem{
			{"abuse.yaml", 3, []string{`abuse phrase "バカ" reads as the same words (バカ) as "ﾊﾞｶ" at abuse.yaml:5`, "expect each phrase once per category"}},
			{"abuse.yaml", 5, []string{`abuse phrase "ﾊﾞｶ" reads as the same words (バカ) as "バカ" at abuse.yaml:3`, "expect each phrase once per category"}},
		}},
		{"lint-split", []lintProblem{
			{"coercion.yaml", 5, []string{`coercion phrase "返金しろ！さもないと" cannot match its own text`,
				"the text reads as 返金|しろ|!|さも|ない|と, the pattern as 返金|しろ|さも|ない|と", "expect no punctuation inside a phrase"}},
		}},
		{"lint-covered", []lintProblem{
			{"threat.yaml", 5, []string{`threat phrase "殺してやる" never fires on its own text`,
				`threat entry "殺す" (threat.yaml:3) fires on the same words "殺し"`, "expect one entry per phrase"}},
		}},
		{"lint-allowed", []lintProblem{
			{"threat.yaml", 5, []string{`threat phrase "半殺し" never fires on its own text`,
				`allow phrase "半殺し" (allow.yaml:3) covers it`, "expect no allow phrase around an entry's own phrase"}},
		}},
		{"lint-example", []lintProblem{
			{"threat.yaml", 6, []string{`threat entry "殴る": example "ぶん殴ってやる" does not make it fire`,
				"the text reads as ぶん殴っ|て|やる, the pattern as 殴る", "expect every example to make its entry fire"}},
		}},
		{"lint-counter-example", []lintProblem{
			{"threat.yaml", 3, []string{`threat entry "殺す": counter-example "必ず殺す" makes it fire (on "殺す" at [2,4))`,
				"expect no counter-example to make its entry fire"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			lex, err := lexicon.LoadDir(filepath.Join("testdata", tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			checkLint(t, Lint(lex, Options{Analyzer: sharedAnalyzer(t)}), tt.want)
		})
	}
}

func checkLint(t *testing.T, errs []error, want []lintProblem) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(errs), len(want), errors.Join(errs...))
	}
	for i, err := range errs {
		var le *lexicon.Error
		if !errors.As(err, &le) {
			t.Fatalf("error %v is not a *lexicon.Error", err)
		}
		w := want[i]
		if le.Pos.File != w.file || le.Pos.Line != w.line {
			t.Errorf("error %d at %v, want %s:%d (%v)", i, le.Pos, w.file, w.line, err)
		}
		for _, h := range w.has {
			if !strings.Contains(le.Msg, h) {
				t.Errorf("error %d: message %q does not say %q", i, le.Msg, h)
			}
		}
	}
}

// TestLintReportsEveryProblem checks that a phrase that cannot compile does
// not stop the checks that need the others compiled, and that problems come
// sorted by file and line.
func TestLintReportsEveryProblem(t *testing.T) {
	fsys := fstest.MapFS{
		"b.yaml": {Data: []byte("category: threat\nentries:\n  - pattern: 殺す\n    weight: 1\n    variants: [。]\n    examples: [ありがとう]\n")},
		"a.yaml": {Data: []byte("category: abuse\nentries:\n  - pattern: 無能\n    weight: 0.9\n    counter_examples: [無能な店員]\n")},
	}
	lex, err := lexicon.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	checkLint(t, Lint(lex, Options{Analyzer: sharedAnalyzer(t)}), []lintProblem{
		{"a.yaml", 3, []string{`counter-example "無能な店員" makes it fire`}},
		{"b.yaml", 3, []string{`pattern "。" has no words`}},
		{"b.yaml", 3, []string{`example "ありがとう" does not make it fire`}},
	})
}

func TestLintBadOptions(t *testing.T) {
	lex, err := lexicon.LoadDir("testdata/lint-clean")
	if err != nil {
		t.Fatal(err)
	}
	errs := Lint(lex, Options{Analyzer: sharedAnalyzer(t), HarassmentThreshold: 2})
	var le *lexicon.Error
	if len(errs) != 1 || errors.As(errs[0], &le) {
		t.Fatalf("errs = %v, want one error about the options", errs)
	}
	if !strings.Contains(errs[0].Error(), "harassment threshold 2") {
		t.Errorf("error %q does not name the bad threshold", errs[0])
	}
}

func ExampleLint() {
	lex, err := lexicon.Load(fstest.MapFS{"threat.yaml": {Data: []byte(`category: threat
entries:
  - pattern: 殺す
    weight: 1.0
    examples: [お前を殺してやる, ありがとう]
    counter_examples: [殺虫剤はありますか]
`)}})
	if err != nil {
		panic(err)
	}
	for _, err := range Lint(lex, Options{}) {
		fmt.Println(err)
	}
	// Output:
	// threat.yaml:3: threat entry "殺す": example "ありがとう" does not make it fire: the text reads as ありがとう, the pattern as 殺す; expect every example to make its entry fire
}

// Lint checks a class as it checks an entry: its examples hold one of its
// words, its counter-examples none, and something uses it.
func TestLintClasses(t *testing.T) {
	lex := mustLoad(t, `category: abuse
classes:
  - name: insult
    words: [クズ, 人間のクズ]
    examples: [お前はクズだ, 人間のクズめ, 今日は晴れです]
    counter_examples: [糸くずが付いていた, こいつはクズだ]
  - name: unused
    words: [バカ]
  - name: toxic_only
    toxicity: 0.5
    words: [アホ]
entries:
  - {pattern: "{insult}め", weight: 1}
`)
	errs := Lint(lex, Options{Analyzer: sharedAnalyzer(t)})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`class "insult": example "今日は晴れです" holds none of its words`,
		`class "insult": counter-example "こいつはクズだ" holds its word "クズ"`,
		`class "unused" is used by no pattern and no class`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("lint does not say %q; it says:\n%s", want, all)
		}
	}
	for _, unwanted := range []string{`"お前はクズだ" holds none`, `"人間のクズめ" holds none`, `"糸くずが付いていた" holds`, `class "toxic_only" is used by no`} {
		if strings.Contains(all, unwanted) {
			t.Errorf("lint says %q; it should not:\n%s", unwanted, all)
		}
	}
}
