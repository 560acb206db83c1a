package classifier

// signature is a 256-bit summary of a set of strings, each of which sets
// one bit. Two sets that share a string share a bit: when any word a
// pattern requires has a signature that misses a sentence's, the pattern
// cannot match there, and find need not try it.
type signature [4]uint64

func (s *signature) add(str string) {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(str); i++ {
		h = (h ^ uint32(str[i])) * 16777619
	}
	h ^= h >> 16
	s[h>>6&3] |= 1 << (h & 63)
}

func (s *signature) addAll(l []string) {
	for _, x := range l {
		s.add(x)
	}
}

func (s *signature) or(o *signature) {
	s[0] |= o[0]
	s[1] |= o[1]
	s[2] |= o[2]
	s[3] |= o[3]
}

func (s *signature) meets(o *signature) bool {
	return s[0]&o[0]|s[1]&o[1]|s[2]&o[2]|s[3]&o[3] != 0
}

// tokenSignature summarises tokenLookups.
func tokenSignature(l *lexical, keys []string) signature {
	var s signature
	s.addAll(tokenLookups(nil, l, keys))
	return s
}

// elementSignature summarises element.lookups, of which a token e matches
// has one among its tokenLookups. ok is false for elements that match
// otherwise or may be left out: gaps, word classes, optional particles,
// negations (any negative auxiliary matches one), and particles the
// tokenizer may split (のに as の|に).
func elementSignature(e *element) (s signature, ok bool) {
	if e.set != nil {
		return e.set.sig, len(e.set.members) > 0 // any member will do
	}
	if e.gap || e.optional || e.class != "" || e.negation || e.split[0] != "" {
		return s, false
	}
	s.addAll(e.lookups())
	return s, true
}

// gates packs, by pattern id, what find checks of a pattern before
// matching it: the class its first word is of, the classes it cannot match
// without and the signatures of the words it requires. Most of a token's
// candidates fail these checks; packed in dense slices, passing over them
// reads no pattern, each of which would be a miss of the cache.
type gates struct {
	of      []gate
	classes []classWord // gate.ncls from gate.cls
	sigs    []signature // gate.nsig from gate.sig
}

type gate struct {
	first      int16 // the bit of the class of the pattern's first word, or -1
	ncls, nsig uint16
	cls, sig   uint32
}

// classWord is the classes a pattern requires in one word of classBits.
type classWord struct {
	word int
	mask uint64
}

// add appends p's gate; patterns are added in the order of their ids.
func (g *gates) add(p *pattern) {
	x := gate{first: -1, cls: uint32(len(g.classes)), sig: uint32(len(g.sigs))}
	if set := p.elems[0].set; set != nil && set.bit >= 0 {
		x.first = int16(set.bit)
	}
	for w, mask := range p.classes {
		if mask != 0 {
			g.classes = append(g.classes, classWord{w, mask})
			x.ncls++
		}
	}
	g.sigs = append(g.sigs, p.required...)
	x.nsig = uint16(len(p.required))
	g.of = append(g.of, x)
}

// viable reports whether the pattern of gate x may match in a sentence
// whose words have signature sent and may begin classes.
func (g *gates) viable(x *gate, sent *signature, classes *classBits) bool {
	for _, c := range g.classes[x.cls : x.cls+uint32(x.ncls)] {
		if classes[c.word]&c.mask != c.mask {
			return false
		}
	}
	for i := range g.sigs[x.sig : x.sig+uint32(x.nsig)] {
		if !g.sigs[x.sig+uint32(i)].meets(sent) {
			return false
		}
	}
	return true
}
