package classifier

import (
	"strings"
	"testing"
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
	c := newTest(b, obfuscationLexicon, Options{MaxTextBytes: 64 << 10})
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
