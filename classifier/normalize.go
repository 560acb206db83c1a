package classifier

import (
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// normText is normalised text that remembers, for every rune, which runes
// of the original text it came from, so spans found in it can be reported
// in the original's code points.
type normText struct {
	runes []rune
	// src[i] is the half-open range of original rune offsets that produced
	// runes[i]. Ranges never decrease.
	src []span
}

type span struct{ start, end int }

func (t *normText) String() string { return string(t.runes) }

// origSpan maps the normalised rune range [a,b) back to the original.
func (t *normText) origSpan(a, b int) span {
	if a >= b {
		return span{t.src[a].start, t.src[a].start}
	}
	return span{t.src[a].start, t.src[b-1].end}
}

// normalize applies NFKC, segment by segment so that every output rune can
// be traced to its input, then lower-cases letters. s must be valid UTF-8.
func normalize(s string) *normText {
	t := &normText{runes: make([]rune, 0, len(s)/2), src: make([]span, 0, len(s)/2)}
	var it norm.Iter
	it.InitString(norm.NFKC, s)
	orig := 0 // rune offset in s of the current segment
	byteOff := 0
	for !it.Done() {
		seg := it.Next()
		// The iterator consumed s[byteOff:it.Pos()]; count its runes.
		next := it.Pos()
		n := 0
		for range s[byteOff:next] {
			n++
		}
		sp := span{orig, orig + n}
		for _, r := range string(seg) {
			t.runes = append(t.runes, unicode.ToLower(r))
			t.src = append(t.src, sp)
		}
		orig += n
		byteOff = next
	}
	return t
}
