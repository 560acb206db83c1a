package lexicon_test

import (
	"fmt"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

func ExampleLoad() {
	fsys := fstest.MapFS{"abuse.yaml": {Data: []byte(`category: abuse
entries:
  - pattern: 無能
    weight: 0.9
    wieght: 1
`)}}
	_, err := lexicon.Load(fsys)
	fmt.Println(err)
	// Output: abuse.yaml:5: unknown key "wieght"; expect pattern|weight|variants|note|examples|counter_examples|moods
}
