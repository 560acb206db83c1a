package classifier

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/lexicon"
)

// pathological are inputs of the maximum size in the shapes that slow a
// lattice tokenizer down: long runs of one character class.
var pathological = map[string]string{
	"katakana":       strings.Repeat("ア", 60<<10/3),
	"halfwidth-kana": strings.Repeat("ｱ", 60<<10/3),
	"ascii-letters":  strings.Repeat("a", 60<<10),
	"emoji":          strings.Repeat("😡", 60<<10/4),
	"repeated-word":  strings.Repeat("殺す", 60<<10/6),
	"short-lines":    strings.Repeat("あ\n", 60<<10/4),
	"kanji":          strings.Repeat("殺", 60<<10/3),
	"digits":         strings.Repeat("5", 60<<10),
	"mixed-run":      strings.Repeat("アaｱ1", 60<<10/8),
	// One character repeated is squeezed by normalisation; varied runs of
	// one class are what reach the tokenizer.
	"katakana-varied":       strings.Repeat("アイウエオカキクケコサシスセソ", 60<<10/45),
	"halfwidth-kana-varied": strings.Repeat("ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿ", 60<<10/45),
	"ascii-varied":          strings.Repeat("abcdefghijklmnopqrstuvwxyz", 60<<10/26),
	"emoji-varied":          strings.Repeat("😡🔥💢👊😤", 60<<10/20),
	"hiragana-varied":       strings.Repeat("あいうえおかきくけこさしすせそ", 60<<10/45),
}

func BenchmarkPathological(b *testing.B) {
	c := defaultClassifier(b)
	for name, text := range pathological {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := c.Classify(text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// devTexts are the texts of the shared development corpus, or nil when it
// is not beside the repository.
func devTexts(b *testing.B) []string {
	data, err := os.ReadFile("../../shared/eval/dev.jsonl")
	if err != nil {
		b.Skipf("dev corpus: %v", err)
	}
	var texts []string
	for _, line := range strings.Split(string(data), "\n") {
		var m struct{ Text string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Text != "" {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

// BenchmarkTokenizeOnly is the floor: kagome IPA tokenising the dev corpus
// and nothing else.
func BenchmarkTokenizeOnly(b *testing.B) {
	texts := devTexts(b)
	a := sharedAnalyzer(b)
	for b.Loop() {
		for _, t := range texts {
			a.tok.Tokenize(t)
		}
	}
}

// BenchmarkClassify is the whole classifier with the default lexicon on the
// same texts.
func BenchmarkClassify(b *testing.B) {
	texts := devTexts(b)
	c := defaultClassifier(b)
	for b.Loop() {
		for _, t := range texts {
			if _, err := c.Classify(t); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// defaultClassifier is the embedded default lexicon with default options.
func defaultClassifier(tb testing.TB) *Classifier {
	lex, err := lexicon.Default()
	if err != nil {
		tb.Fatal(err)
	}
	c, err := New(lex, Options{Analyzer: sharedAnalyzer(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
