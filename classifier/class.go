package classifier

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kasuhara/kasuhara/lexicon"
)

// classSet is an analyst's word class compiled. A member of one word is an
// element, found through index by the strings a token is looked up by
// (tokenLookups), as patterns are; a member of several words (クソ野郎,
// 人間のクズ) is a pattern of its own, matched in place of the class, found
// through multiIndex by its first word.
type classSet struct {
	members []element
	index   map[string][]int
	multi   []*pattern
	// multiIndex indexes multi by the lookups of their first words.
	multiIndex map[string][]int
	// lookups are the lookups of every member's first word, each once: a
	// pattern that starts with the class is indexed by them.
	lookups []string
	// words are the members as written, one-word members first.
	words []string
	// bit is the class's bit in a token's class mask, or -1.
	bit      int
	category lexicon.Category
	toxicity float64
}

// classTable is the classes of one lexicon by name.
type classTable map[string]*classSet

// compileClasses compiles every class of lex through a.
func (a *Analyzer) compileClasses(lex *lexicon.Set, subs *substitutions) (classTable, []error) {
	t := classTable{}
	var errs []error
	for _, c := range lex.Classes {
		cs := &classSet{index: map[string][]int{}, multiIndex: map[string][]int{}, category: c.Category, toxicity: c.Toxicity}
		var multi []string
		for _, w := range lex.ClassWords(c.Name) {
			if hasGap(w) {
				errs = append(errs, &lexicon.Error{Pos: c.Pos, Msg: fmt.Sprintf("class %q word %q has a gap or a class; a word is written as it reads", c.Name, w)})
				continue
			}
			els, _ := a.words(w, "", subs)
			switch {
			case len(els) == 0:
				errs = append(errs, &lexicon.Error{Pos: c.Pos, Msg: fmt.Sprintf("class %q word %q has no words", c.Name, w)})
			case len(els) == 1 && els[0].verb && !wordForm(a, w, subs):
				// めくら is めくる's stem to the tokenizer: as a word it
				// would match every form of めくる.
				errs = append(errs, &lexicon.Error{Pos: c.Pos, Msg: fmt.Sprintf("class %q word %q reads as a form of the verb %s; write the dictionary form or a longer phrase", c.Name, w, els[0].keys[0])})
			case len(els) == 1 && !els[0].function:
				e := els[0]
				e.optional = false
				cs.add(e)
				cs.words = append(cs.words, w)
			default:
				// Compiled as a pattern is, once per reading its last word
				// may have (see compileSuffixes).
				mps, err := a.compile(w, -1, subs, nil)
				if err != nil {
					errs = append(errs, &lexicon.Error{Pos: c.Pos, Msg: fmt.Sprintf("class %q word %q: %v", c.Name, w, err)})
					continue
				}
				for _, mp := range mps {
					// A member is a word inside a frame: the frame, not the
					// member, decides how the phrase must close.
					mp.mood, mp.intent = moodNone, false
					cs.addMulti(mp)
				}
				multi = append(multi, w)
			}
		}
		cs.words = append(cs.words, multi...)
		t[c.Name] = cs
	}
	return t, errs
}

func (cs *classSet) add(e element) {
	i := len(cs.members)
	cs.members = append(cs.members, e)
	for _, k := range e.lookups() {
		l := cs.index[k]
		if len(l) == 0 || l[len(l)-1] != i {
			cs.index[k] = append(l, i)
		}
		cs.lookup(k)
	}
}

func (cs *classSet) addMulti(p *pattern) {
	i := len(cs.multi)
	cs.multi = append(cs.multi, p)
	for _, k := range p.elems[0].lookups() {
		l := cs.multiIndex[k]
		if len(l) == 0 || l[len(l)-1] != i {
			cs.multiIndex[k] = append(l, i)
		}
		cs.lookup(k)
	}
}

// lookup adds k to the lookups of the class's first words.
func (cs *classSet) lookup(k string) {
	if !slices.Contains(cs.lookups, k) {
		cs.lookups = append(cs.lookups, k)
	}
}

// each calls fn with the end of every member that matches at toks[i], one
// word then many, until fn returns true, and reports whether it did.
func (cs *classSet) each(toks []token, i int, fn func(end int) bool) bool {
	t := &toks[i]
	if cs.matches(t) && fn(i+1) {
		return true
	}
	return cs.eachMulti(toks, i, fn)
}

// ends appends to dst the ends each passes fn, in order, fn aside.
func (cs *classSet) ends(toks []token, i int, dst []int) []int {
	cs.each(toks, i, func(end int) bool {
		dst = append(dst, end)
		return false
	})
	return dst
}

// eachMulti is each for the many-word members.
func (cs *classSet) eachMulti(toks []token, i int, fn func(end int) bool) bool {
	t := &toks[i]
	if len(cs.multi) == 0 || t.classed && cs.bit >= 0 && !t.begins.has(cs.bit) {
		return false // no many-word member begins here
	}
	var buf [8]string
	tried := 0 // a member is tried once however many lookups share it; few share
	var done [8]int
	for _, k := range uniqueLookups(buf[:0], t) {
		for _, m := range cs.multiIndex[k] {
			if tried < len(done) && slices.Contains(done[:tried], m) {
				continue
			}
			if tried < len(done) {
				done[tried] = m
				tried++
			}
			if end, ok := cs.multi[m].matchAt(toks, i); ok && fn(end) {
				return true
			}
		}
	}
	return false
}

// matches reports whether t is a one-word member of the class: by the
// token's class mask once find has set it (see markClasses), else by
// looking it up.
func (cs *classSet) matches(t *token) bool {
	if t.classed && cs.bit >= 0 {
		return t.classes.has(cs.bit)
	}
	return cs.lookup1(t)
}

// maxMasked is how many classes a token's class mask holds; a lexicon with
// more looks the rest up each time and prunes nothing by them (the default
// lexicon has 286: TestDefaultClassesAreMasked keeps it within).
const maxMasked = 512

// classBits is a set of classes by their bits (classSet.bit).
type classBits [maxMasked / 64]uint64

func (b classBits) has(i int) bool { return b[i>>6]>>(i&63)&1 == 1 }

func (b *classBits) set(i int) { b[i>>6] |= 1 << (i & 63) }

func (b classBits) or(o classBits) classBits {
	for i := range b {
		b[i] |= o[i]
	}
	return b
}

// meets reports whether b and o share a class.
func (b classBits) meets(o classBits) bool {
	for i := range b {
		if b[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// classMask returns the bits of the classes t is a one-word member of,
// and of those whose many-word members t may begin.
func (c *Classifier) classMask(t *token) (m, begins classBits) {
	var buf [8]string
	for _, k := range uniqueLookups(buf[:0], t) {
		for _, ref := range c.memberIndex[k] {
			if !m.has(ref.bit) && ref.set.member(ref.member, t) {
				m.set(ref.bit)
			}
		}
		for _, ref := range c.firstIndex[k] {
			if !begins.has(ref.bit) && ref.set.multi[ref.member].elems[0].matches(t) {
				begins.set(ref.bit)
			}
		}
	}
	return m, begins
}

// markClasses sets every token's class mask, and returns by token what is
// cached of known words read as their entry says (nil for others),
// and by sentence the classes a word of it may be or begin: a pattern
// that needs a class missing there cannot match in it. Known words' masks
// and candidates are cached.
func (c *Classifier) markClasses(toks []token, known []*knownWord, sents []classBits) ([]*knownWord, []classBits) {
	for i := range toks {
		t := &toks[i]
		var kw *knownWord
		var begins classBits
		pristine := t.cached && len(t.keys) == len(t.lexical.keys)
		if pristine {
			kw = c.known(t.lexical)
			begins = kw.begins
			pristine = t.imperative == t.lexical.imperative && !t.aspect && !t.compound && !t.modifier && !t.prefixed
			if pristine {
				t.classes = kw.classes
			}
		}
		if !pristine {
			var b classBits
			t.classes, b = c.classMask(t)
			begins = begins.or(b)
		}
		t.classed, t.begins = true, begins
		known = append(known, kw)
		for len(sents) <= t.sentence {
			sents = append(sents, classBits{})
		}
		s := &sents[t.sentence]
		for w := range s {
			s[w] |= t.classes[w] | begins[w]
		}
	}
	return known, sents
}

// memberRef is one one-word member of a masked class, for memberIndex.
type memberRef struct {
	set    *classSet
	member int
	bit    int
}

func (cs *classSet) lookup1(t *token) bool {
	var buf [8]string
	for _, k := range uniqueLookups(buf[:0], t) {
		for _, m := range cs.index[k] {
			if cs.member(m, t) {
				return true
			}
		}
	}
	return false
}

// member reports whether t is one-word member m.
func (cs *classSet) member(m int, t *token) bool {
	e := &cs.members[m]
	if e.noun && (e.kana && t.compound && utf8.RuneCountInString(e.surface) <= 2 || t.modifier || t.prefixed) {
		// A short kana noun glued after a noun heads another word (糸くず,
		// 親バカ; 女性スタッフ is still staff); any
		// noun glued before one is its modifier (胸ポケット); a prefix
		// glued before one makes another word (未開封).
		return false
	}
	return e.matches(t)
}

// toxicity returns, by category, the toxicity of the most toxic class word
// in toks, whoever it is aimed at, quoted or not: the generic score that
// comment moderation reads, apart from the label.
func (c *Classifier) toxicity(toks []token) map[lexicon.Category]float64 {
	var out map[lexicon.Category]float64
	var buf [8]string
	for i := range toks {
		t := &toks[i]
		if t.classed && c.toxicUnmasked == 0 && !t.classes.meets(c.toxicBits) && !t.begins.meets(c.toxicBits) {
			continue // no toxic class's word is or begins here
		}
		for _, cs := range c.toxic {
			if out[cs.category] < cs.toxicity && cs.matches(t) {
				if out == nil {
					out = map[lexicon.Category]float64{}
				}
				out[cs.category] = cs.toxicity
			}
		}
		for _, k := range uniqueLookups(buf[:0], t) {
			for _, ref := range c.toxicMulti[k] {
				cs := ref.set
				if out[cs.category] >= cs.toxicity {
					continue
				}
				if _, ok := cs.multi[ref.member].matchAt(toks, i); ok {
					if out == nil {
						out = map[lexicon.Category]float64{}
					}
					out[cs.category] = cs.toxicity
				}
			}
		}
	}
	return out
}

// toxicClasses returns the classes of ct that carry a toxicity, by name.
func toxicClasses(ct classTable) []*classSet {
	var out []*classSet
	for _, name := range slices.Sorted(maps.Keys(ct)) {
		if cs := ct[name]; cs.toxicity > 0 && cs.category != "" {
			out = append(out, cs)
		}
	}
	return out
}

// wordForm reports whether the one verb w reads as is written as a word:
// not as an irrealis stem (未然形), which no one writes alone, and which
// kana words that are not verbs at all are read as (めくら: めくる).
func wordForm(a *Analyzer, w string, subs *substitutions) bool {
	for _, t := range a.analyze(w, subs, nil).tokens {
		if strings.HasPrefix(t.pos, "動詞") {
			return !strings.HasPrefix(t.form, "未然")
		}
	}
	return true
}

// uniqueLookups appends t's lookups (see tokenLookups) to dst, each once.
func uniqueLookups(dst []string, t *token) []string {
	var all [8]string
	for _, k := range tokenLookups(all[:0], t.lexical, t.keys) {
		if !contains(dst, k) {
			dst = append(dst, k)
		}
	}
	return dst
}
