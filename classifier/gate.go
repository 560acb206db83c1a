package classifier

import (
	"slices"
	"strings"
)

// gates packs, by pattern id, what find checks of a pattern before
// matching it: the class its first word is of, the classes it cannot match
// without and the words it requires. Most of a token's candidates fail
// these checks; packed in dense slices, passing over them reads no
// pattern, each of which would be a miss of the cache.
//
// Each word patterns require is numbered (see wordIDs): a sentence has
// word w when one of its tokens shares a lookup (tokenLookups) with w's
// (element.lookups), as element.matches needs, else no pattern requiring
// w can match there.
type gates struct {
	of      []gate
	classes []classWord // gate.ncls from gate.cls
	words   []int32     // gate.nword from gate.word, the first also in need
}

type gate struct {
	first       int16 // the bit of the class of the pattern's first word, or -1
	ncls, nword uint16
	need        int32 // the first word required, or -1: most candidates fail on it
	cls, word   uint32
}

// classWord is the classes a pattern requires in one word of classBits.
type classWord struct {
	word int
	mask uint64
}

// wordIDs numbers the words patterns require, one number for every
// element with the same lookups, and gives each lookup the numbers of the
// words it is a lookup of.
type wordIDs struct {
	byLookups map[string]int32
	of        map[string][]int32
}

func newWordIDs() *wordIDs {
	return &wordIDs{byLookups: map[string]int32{}, of: map[string][]int32{}}
}

func (w *wordIDs) n() int { return len(w.byLookups) }

// id returns the number of the word looked up by lookups.
func (w *wordIDs) id(lookups []string) int32 {
	l := slices.Compact(slices.Sorted(slices.Values(lookups)))
	key := strings.Join(l, "\x00")
	id, ok := w.byLookups[key]
	if !ok {
		id = int32(len(w.byLookups))
		w.byLookups[key] = id
		for _, k := range l {
			w.of[k] = append(w.of[k], id)
		}
	}
	return id
}

// add appends to dst the numbers of the words lookup k is a lookup of.
func (w *wordIDs) add(dst []int32, k string) []int32 {
	for _, id := range w.of[k] {
		if !slices.Contains(dst, id) {
			dst = append(dst, id)
		}
	}
	return dst
}

// add appends p's gate; patterns are added in the order of their ids. A
// pattern requires the classes of its elements and the words of those it
// cannot match without a token sharing a lookup (requirable), content
// words first, less its first word (the token find looked it up by has
// it) and a last one the message may leave out (dropsLast).
func (g *gates) add(p *pattern, ids *wordIDs) {
	x := gate{first: -1, need: -1, cls: uint32(len(g.classes)), word: uint32(len(g.words))}
	if set := p.elems[0].set; set != nil && set.bit >= 0 {
		x.first = int16(set.bit)
	}
	var classes classBits
	var need, grammar []int32
	for i := range p.elems {
		e := &p.elems[i]
		if i == len(p.elems)-1 && p.dropsLast() {
			break // the message may leave it out
		}
		switch {
		case e.set != nil && e.set.bit >= 0:
			classes.set(e.set.bit)
		case i == 0 || !requirable(e):
			// The first is the word find looked the pattern up by.
		case e.content:
			need = append(need, ids.id(e.lookups()))
		default:
			grammar = append(grammar, ids.id(e.lookups())) // checked last: most sentences have を
		}
	}
	for w, mask := range classes {
		if mask != 0 {
			g.classes = append(g.classes, classWord{w, mask})
			x.ncls++
		}
	}
	need = append(need, grammar...)
	if len(need) > 0 {
		x.need = need[0]
	}
	g.words = append(g.words, need...)
	x.nword = uint16(len(need))
	g.of = append(g.of, x)
}

// viable reports whether the pattern of gate x may match in a sentence
// whose words may begin classes and that has the words w for which
// has[w] == stamp.
func (g *gates) viable(x *gate, has []int32, stamp int32, classes *classBits) bool {
	if x.need >= 0 && has[x.need] != stamp {
		return false
	}
	for _, c := range g.classes[x.cls : x.cls+uint32(x.ncls)] {
		if classes[c.word]&c.mask != c.mask {
			return false
		}
	}
	if x.nword > 1 {
		for _, w := range g.words[x.word+1 : x.word+uint32(x.nword)] {
			if has[w] != stamp {
				return false
			}
		}
	}
	return true
}

// requirable reports whether a pattern cannot match without a token that
// shares a lookup with e: not so for elements that match otherwise or may
// be left out: gaps, word classes, optional particles, negations (any
// negative auxiliary matches one), particles the tokenizer may split (のに
// as の|に), and classes without one-word members.
func requirable(e *element) bool {
	if e.set != nil {
		return len(e.set.members) > 0 // any member will do
	}
	return !e.gap && !e.optional && e.class == "" && !e.negation && e.split[0] == ""
}
