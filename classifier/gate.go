package classifier

// gates packs, by pattern id, what find checks of a pattern before
// matching it: the class its first word is of, the classes it cannot match
// without and the words it requires. Most of a token's candidates fail
// these checks; packed in dense slices, passing over them reads no
// pattern, each of which would be a miss of the cache.
//
// A required word is the ids of its lookups (see element.lookups) among
// the lexicon's required words (wordIDs): the sentence must have a token
// with one of them among its own lookups (tokenLookups), exactly as
// element.matches needs one in common, or the pattern cannot match there.
type gates struct {
	of      []gate
	classes []classWord // gate.ncls from gate.cls
	// words holds each required word as its count of ids, then the ids,
	// gate.nword words from gate.word.
	words []int32
}

type gate struct {
	first       int16 // the bit of the class of the pattern's first word, or -1
	ncls, nword uint16
	cls, word   uint32
}

// classWord is the classes a pattern requires in one word of classBits.
type classWord struct {
	word int
	mask uint64
}

// wordIDs numbers the strings required words are looked up by.
type wordIDs map[string]int32

func (w wordIDs) id(s string) int32 {
	id, ok := w[s]
	if !ok {
		id = int32(len(w))
		w[s] = id
	}
	return id
}

// add appends p's gate; patterns are added in the order of their ids.
func (g *gates) add(p *pattern, ids wordIDs) {
	x := gate{first: -1, cls: uint32(len(g.classes)), word: uint32(len(g.words))}
	if set := p.elems[0].set; set != nil && set.bit >= 0 {
		x.first = int16(set.bit)
	}
	for w, mask := range p.classes {
		if mask != 0 {
			g.classes = append(g.classes, classWord{w, mask})
			x.ncls++
		}
	}
	for _, e := range p.need {
		at := len(g.words)
		g.words = append(g.words, 0)
		for _, k := range p.elems[e].lookups() {
			if id := ids.id(k); !containsID(g.words[at+1:], id) {
				g.words = append(g.words, id)
				g.words[at]++
			}
		}
		x.nword++
	}
	g.of = append(g.of, x)
}

func containsID(l []int32, id int32) bool {
	for _, x := range l {
		if x == id {
			return true
		}
	}
	return false
}

// viable reports whether the pattern of gate x may match in a sentence
// whose words may begin classes and whose tokens' lookups have the word
// ids id for which has[id] == stamp.
func (g *gates) viable(x *gate, has []int32, stamp int32, classes *classBits) bool {
	for _, c := range g.classes[x.cls : x.cls+uint32(x.ncls)] {
		if classes[c.word]&c.mask != c.mask {
			return false
		}
	}
	w := g.words[x.word:]
	for range x.nword {
		n := w[0]
		ids := w[1 : 1+n]
		w = w[1+n:]
		met := false
		for _, id := range ids {
			if has[id] == stamp {
				met = true
				break
			}
		}
		if !met {
			return false
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
