package lexicon_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

func TestLoadValid(t *testing.T) {
	s, err := lexicon.LoadDir("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Entries); got != 2 {
		t.Fatalf("entries = %d, want 2", got)
	}
	e := s.Entries[0]
	if e.Category != lexicon.Threat || e.Pattern != "殺す" || e.Weight != 1.0 {
		t.Errorf("first entry = %+v", e)
	}
	if got := e.Phrases(); len(got) != 2 || got[1] != "ぶっ殺す" {
		t.Errorf("phrases = %q, want pattern then variant", got)
	}
	if e.Pos != (lexicon.Position{File: "threat.yaml", Line: 4}) {
		t.Errorf("pos = %v, want threat.yaml:4", e.Pos)
	}
	if len(e.Examples) != 1 || len(e.CounterExamples) != 1 {
		t.Errorf("examples = %q, counter = %q", e.Examples, e.CounterExamples)
	}
	if len(s.Allow) != 1 || s.Allow[0].Phrase != "死ぬほど" || s.Allow[0].Pos.File != "allow.yaml" {
		t.Errorf("allow = %+v", s.Allow)
	}
	if got := s.Count()[lexicon.Threat]; got != 2 {
		t.Errorf("count threat = %d", got)
	}
	if len(s.Version) != 16 {
		t.Errorf("version %q, want 16 hex digits", s.Version)
	}
}

func TestVersionIsContentHash(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("category: abuse\nentries:\n  - pattern: 無能\n    weight: 0.9\n")}}
	a, err := lexicon.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lexicon.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != b.Version {
		t.Errorf("same files, versions %s and %s", a.Version, b.Version)
	}
	fsys["a.yaml"] = &fstest.MapFile{Data: []byte("category: abuse\nentries:\n  - pattern: 無能\n    weight: 0.8\n")}
	c, err := lexicon.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version == a.Version {
		t.Errorf("a changed weight kept version %s", c.Version)
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		file string
		line int
		want string // a word the message must carry: what was wrong or expected
	}{
		{"invalid-unknown-key.yaml", 4, `unknown key "wieght"; expect pattern|weight`},
		{"invalid-unknown-category.yaml", 1, `unknown category "thret"; expect threat|`},
		{"invalid-weight-range.yaml", 4, "weight 1.5 out of range; expect a number in [0,1]"},
		{"invalid-unknown-mood.yaml", 5, `unknown mood "imperative"; expect command|request|volitional|intent|question|conditional|negated|done|attributive|plain`},
		{"invalid-weight-type.yaml", 4, `weight "high" is not a number`},
		{"invalid-missing-weight.yaml", 3, "has no weight"},
		{"invalid-missing-pattern.yaml", 3, "entry has no pattern"},
		{"invalid-empty-pattern.yaml", 3, "pattern is empty"},
		{"invalid-duplicate.yaml", 5, `duplicate abuse phrase "無能", first at invalid-duplicate.yaml:3`},
		{"invalid-syntax.yaml", 4, "invalid YAML: line 4: mapping values are not allowed"},
		{"invalid-no-category.yaml", 2, "entries without a category"},
		{"invalid-top-level.yaml", 1, "top level is a list; expect a mapping"},
		{"invalid-entries-type.yaml", 2, "entries is a scalar; expect a list"},
		{"invalid-repeated-key.yaml", 5, `key "weight" given twice`},
		{"invalid-empty.yaml", 1, "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = lexicon.Load(fstest.MapFS{tt.file: {Data: data}})
			if err == nil {
				t.Fatal("loaded without error")
			}
			var le *lexicon.Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *lexicon.Error", err)
			}
			if le.Pos.File != tt.file || le.Pos.Line != tt.line {
				t.Errorf("error at %v, want %s:%d (%v)", le.Pos, tt.file, tt.line, err)
			}
			if !strings.Contains(le.Msg, tt.want) {
				t.Errorf("message %q does not say %q", le.Msg, tt.want)
			}
		})
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte("category: abuse\nentries:\n  - pattern: 無能\n    weight: 2\n  - pattern: クズ\n    colour: red\n    weight: 1\n")},
		"b.yaml": {Data: []byte("category: nope\nentries:\n  - pattern: 殺す\n    weight: 1\n")},
	}
	_, err := lexicon.Load(fsys)
	var all interface{ Unwrap() []error }
	if !errors.As(err, &all) || len(all.Unwrap()) != 3 {
		t.Fatalf("want 3 joined errors, got %v", err)
	}
}

func TestLoadEmptyDir(t *testing.T) {
	_, err := lexicon.LoadDir(t.TempDir())
	if !errors.Is(err, lexicon.ErrNoFiles) {
		t.Errorf("err = %v, want ErrNoFiles", err)
	}
}

func TestDefaultLoads(t *testing.T) {
	s, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	counts := s.Count()
	for _, c := range lexicon.Categories {
		if counts[c] == 0 {
			t.Errorf("default lexicon has no %s entries", c)
		}
	}
}
