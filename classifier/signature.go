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

// viable reports whether p may match in a sentence with signature sent.
func (p *pattern) viable(sent *signature, classes classBits) bool {
	if !classes.covers(p.classes) {
		return false
	}
	for i := range p.required {
		if !p.required[i].meets(sent) {
			return false
		}
	}
	return true
}
