package lexicon_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

func load(t *testing.T, files map[string]string) (*lexicon.Set, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return lexicon.Load(fsys)
}

func TestClasses(t *testing.T) {
	s, err := load(t, map[string]string{
		"classes.yaml": `classes:
  - name: staff
    description: the shop's people
    words: [店員, 担当者, "{manager}"]
    examples: [店員を出せ]
  - name: manager
    words: [店長, 責任者, 店員]
`,
		"abuse.yaml": `category: abuse
classes:
  - name: insult
    toxicity: 0.8
    words: [クズ, ゴミ]
    counter_examples: [糸くず]
entries:
  - pattern: "{staff}…{insult}"
    weight: 0.9
`})
	if err != nil {
		t.Fatal(err)
	}
	staff, ok := s.Class("staff")
	if !ok || staff.Category != "" || staff.Toxicity != 0 || staff.Pos.File != "classes.yaml" || staff.Pos.Line != 2 {
		t.Errorf("staff = %+v, %v", staff, ok)
	}
	if got := s.ClassWords("staff"); !slices.Equal(got, []string{"店員", "担当者", "店長", "責任者"}) {
		t.Errorf("ClassWords(staff) = %q: want its words, then manager's, each once", got)
	}
	insult, _ := s.Class("insult")
	if insult.Category != lexicon.Abuse || insult.Toxicity != 0.8 || len(insult.CounterExamples) != 1 {
		t.Errorf("insult = %+v", insult)
	}
	if got := lexicon.ClassRefs("{staff}…{insult}だ"); !slices.Equal(got, []string{"staff", "insult"}) {
		t.Errorf("ClassRefs = %q", got)
	}
}

func TestClassErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"unknown class in a pattern", "category: abuse\nentries:\n  - pattern: \"{nobody}…クズ\"\n    weight: 1\n", `uses class {nobody}, which no file defines`},
		{"unknown class in a class", "classes:\n  - name: a\n    words: [\"{b}\"]\n", `class "a" takes in {b}, which no file defines`},
		{"builtin name", "classes:\n  - name: number\n    words: [一]\n", `class "number" is builtin`},
		{"builtin taken in", "classes:\n  - name: a\n    words: [\"{command}\"]\n", `takes in builtin {command}`},
		{"class inside a word", "classes:\n  - name: a\n    words: [x]\n  - name: b\n    words: [\"{a}だ\"]\n", `a class is taken in as a word of its own`},
		{"defined twice", "classes:\n  - name: a\n    words: [x]\n  - name: a\n    words: [y]\n", `class "a" defined twice, first at f.yaml:2`},
		{"cycle", "classes:\n  - name: a\n    words: [\"{b}\"]\n  - name: b\n    words: [\"{a}\"]\n", `takes itself in: a → b → a`},
		{"no words", "classes:\n  - name: a\n    description: x\n", `class "a" has no words`},
		{"no name", "classes:\n  - words: [x]\n", `class has no name`},
		{"bad name", "classes:\n  - name: Staff\n    words: [x]\n", `class name "Staff": expect lower-case`},
		{"word twice", "classes:\n  - name: a\n    words: [x, x]\n", `f.yaml:3: class word "x" given twice`},
		{"toxicity without category", "classes:\n  - name: a\n    toxicity: 0.5\n    words: [x]\n", `toxicity in a file without a category`},
		{"toxicity out of range", "category: abuse\nclasses:\n  - name: a\n    toxicity: 2\n    words: [x]\n", `toxicity 2 out of range`},
		{"unknown key", "classes:\n  - name: a\n    word: [x]\n", `unknown key "word"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, map[string]string{"f.yaml": tc.file})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// A file may hold classes alone, with or without a category.
func TestClassOnlyFile(t *testing.T) {
	s, err := load(t, map[string]string{"sexual.yaml": "category: sexual\nclasses:\n  - name: body\n    toxicity: 0.4\n    words: [胸]\n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Entries) != 0 || len(s.Classes) != 1 || s.Classes[0].Category != lexicon.Sexual {
		t.Errorf("set = %+v", s)
	}
}
