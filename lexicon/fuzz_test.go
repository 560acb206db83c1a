package lexicon_test

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

// FuzzLoad: loading never panics; a file either loads into entries with
// weights in [0,1] and valid categories, or fails with errors that each
// name a position.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"category: threat\nentries:\n  - pattern: 殺す\n    weight: 1.0\n",
		"allow:\n  - 死ぬほど\n",
		"substitutions:\n  - {from: 氏ね, to: 死ね}\n",
		"category: thret\n", "entries: 1", "- a\n- b", "category: [", "\xff\xfe", "", "{}", "~",
		"category: abuse\nentries:\n  - {pattern: ｱﾎ, weight: .5, variants: [あほ], examples: [ｱﾎか]}\n",
		"category: abuse\nentries:\n  - pattern: x\n    weight: NaN\n",
		"category: abuse\nentries:\n  - &a {pattern: x, weight: 1}\n  - *a\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if len(data) > 16<<10 {
			// Lexicon files are small; huge mutated inputs only measure
			// yaml.v3's speed and let a worker overrun the fuzz deadline.
			t.Skip("larger than any lexicon file")
		}
		s, err := lexicon.Load(fstest.MapFS{"f.yaml": {Data: []byte(data)}})
		if err != nil {
			var all interface{ Unwrap() []error }
			errs := []error{err}
			if errors.As(err, &all) {
				errs = all.Unwrap()
			}
			for _, e := range errs {
				var le *lexicon.Error
				if !errors.As(e, &le) {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		for _, e := range s.Entries {
			if !e.Category.Valid() || e.Weight < 0 || e.Weight > 1 || e.Pattern == "" {
				t.Fatalf("loaded a bad entry %+v", e)
			}
		}
	})
}
