package classifier

import (
	"fmt"
	"strings"
)

// maxGap is how many tokens a … in a pattern may stand for.
const maxGap = 8

// gapMarks are how analysts write a gap; NFKC turns … into "...".
var gapMarks = []string{"…", "..."}

// element is one position of a compiled pattern.
type element struct {
	gap        bool     // a … : up to maxGap tokens of the same sentence
	keys       []string // lemmas any of which the message token must have
	imperative bool     // the message token must be a command
	optional   bool     // a particle the message may leave out
	surface    string   // as written, for messages about the pattern
}

// pattern is a phrase compiled through the analyzer. owner is the index of
// the entry it belongs to, or -1 for an allow phrase.
type pattern struct {
	elems []element
	owner int
}

// compile analyses phrase the way messages are analysed.
func (a *Analyzer) compile(phrase string, owner int) (*pattern, error) {
	for _, g := range gapMarks[1:] {
		phrase = strings.ReplaceAll(phrase, g, gapMarks[0])
	}
	p := &pattern{owner: owner}
	for i, part := range strings.Split(phrase, gapMarks[0]) {
		if i > 0 {
			p.elems = append(p.elems, element{gap: true, surface: gapMarks[0]})
		}
		an := a.analyze(part)
		for _, t := range an.tokens {
			if strings.HasPrefix(t.pos, "記号") {
				continue // punctuation in a pattern is decoration
			}
			p.elems = append(p.elems, element{keys: t.keys, imperative: t.imperative, optional: t.particle, surface: t.surface})
		}
	}
	// Leading and trailing particles are optional anyway; drop them so a
	// match starts and ends on a word.
	for len(p.elems) > 0 && p.elems[0].optional {
		p.elems = p.elems[1:]
	}
	for len(p.elems) > 0 && p.elems[len(p.elems)-1].optional {
		p.elems = p.elems[:len(p.elems)-1]
	}
	switch {
	case len(p.elems) == 0:
		return nil, fmt.Errorf("pattern %q has no words", phrase)
	case p.elems[0].gap || p.elems[len(p.elems)-1].gap:
		return nil, fmt.Errorf("pattern %q starts or ends with a gap; put … between words", phrase)
	}
	for i := 1; i < len(p.elems); i++ {
		if p.elems[i].gap && p.elems[i-1].gap {
			return nil, fmt.Errorf("pattern %q has two gaps in a row", phrase)
		}
	}
	return p, nil
}

func (e *element) matches(t *token) bool {
	if e.imperative && !t.imperative {
		return false
	}
	for _, k := range e.keys {
		if t.hasKey(k) {
			return true
		}
	}
	return false
}

// matchAt reports the end (exclusive token index) of a match of p that
// starts at toks[i], preferring the shortest.
func (p *pattern) matchAt(toks []token, i int) (int, bool) {
	if !p.elems[0].matches(&toks[i]) {
		return 0, false
	}
	return p.match(toks, 1, i+1, toks[i].sentence)
}

func (p *pattern) match(toks []token, pe, j, sentence int) (int, bool) {
	if pe == len(p.elems) {
		return j, true
	}
	e := &p.elems[pe]
	at := func(k int) bool { return k < len(toks) && toks[k].sentence == sentence && e.matches(&toks[k]) }
	switch {
	case e.gap:
		for k := j; k <= j+maxGap && k < len(toks) && toks[k].sentence == sentence; k++ {
			if end, ok := p.match(toks, pe+1, k, sentence); ok {
				return end, true
			}
		}
		return 0, false
	case e.optional:
		if at(j) {
			if end, ok := p.match(toks, pe+1, j+1, sentence); ok {
				return end, true
			}
		}
		return p.match(toks, pe+1, j, sentence)
	case at(j):
		return p.match(toks, pe+1, j+1, sentence)
	case j < len(toks) && toks[j].particle && at(j+1):
		// The message put in a particle the pattern left out.
		return p.match(toks, pe+1, j+2, sentence)
	}
	return 0, false
}
