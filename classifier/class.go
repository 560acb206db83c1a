package classifier

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kasuhara/kasuhara/lexicon"
)

// maxExpansions bounds how many phrases one pattern becomes when its
// classes have members of more than one word (see classSet.multi).
const maxExpansions = 512

// classSet is an analyst's word class compiled. A member of one word is an
// element, found through index by the strings a token is looked up by
// (tokenLookups), as patterns are; a member of several words (クソ野郎,
// 人間のクズ) is kept as text, and a pattern using the class is compiled
// once more for each such member written in its place.
type classSet struct {
	name    string
	members []element
	index   map[string][]int
	// lookups are every member's lookups, each once: a pattern that
	// starts with the class is indexed by them.
	lookups []string
	sig     signature
	multi   []string
	// words are the members as written, one-word members first.
	words    []string
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
		cs := &classSet{name: c.Name, index: map[string][]int{}, category: c.Category, toxicity: c.Toxicity}
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
			case len(els) == 1 && !els[0].function:
				e := els[0]
				e.optional = false
				cs.add(e)
				cs.words = append(cs.words, w)
			default:
				multi = append(multi, w)
			}
		}
		cs.multi = multi
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
		if len(l) == 0 {
			cs.lookups = append(cs.lookups, k)
			cs.sig.add(k)
		}
	}
}

// matches reports whether t is a one-word member of the class.
func (cs *classSet) matches(t *token) bool {
	var buf [8]string
	lookups := tokenLookups(buf[:0], t.lexical, t.keys)
	for li, k := range lookups {
		if contains(lookups[:li], k) {
			continue
		}
		for _, m := range cs.index[k] {
			e := &cs.members[m]
			if e.noun && e.kana && t.compound {
				continue // a kana noun glued to a noun heads another word (糸くず)
			}
			if e.matches(t) {
				return true
			}
		}
	}
	return false
}

// expand returns phrase once as written and once more for each choice of
// a many-word member in place of each class that has them: a class stays
// a placeholder for its one-word members. A class with no one-word member
// is always written out.
func (ct classTable) expand(phrase string) ([]string, error) {
	out := []string{phrase}
	for _, name := range lexicon.ClassRefs(phrase) {
		cs := ct[name]
		if cs == nil || len(cs.multi) == 0 {
			continue
		}
		marker := "{" + name + "}"
		var next []string
		for _, p := range out {
			if !strings.Contains(p, marker) {
				next = append(next, p)
				continue
			}
			if len(cs.members) > 0 {
				next = append(next, p)
			}
			for _, w := range cs.multi {
				next = append(next, strings.Replace(p, marker, w, 1))
			}
		}
		if len(next) > maxExpansions {
			return nil, fmt.Errorf("pattern %q stands for more than %d phrases once its classes' many-word members are written out; split it or shorten the classes", phrase, maxExpansions)
		}
		out = next
	}
	return out, nil
}

// toxicClass is a class whose words are toxic whatever they are aimed at,
// with its many-word members compiled as patterns.
type toxicClass struct {
	set   *classSet
	multi map[string][]*pattern // by the lookups of a member's first word
}

// compileToxic compiles the classes that carry a toxicity.
func (a *Analyzer) compileToxic(ct classTable, subs *substitutions) []toxicClass {
	var out []toxicClass
	for _, name := range slices.Sorted(maps.Keys(ct)) {
		cs := ct[name]
		if cs.toxicity <= 0 || cs.category == "" {
			continue
		}
		tc := toxicClass{set: cs, multi: map[string][]*pattern{}}
		for _, w := range cs.multi {
			ps, err := a.compile(w, -1, subs, nil)
			if err != nil {
				continue // reported when the class was compiled
			}
			for _, p := range ps {
				for _, k := range p.elems[0].lookups() {
					tc.multi[k] = append(tc.multi[k], p)
				}
			}
		}
		out = append(out, tc)
	}
	return out
}

// toxicity returns, by category, the toxicity of the most toxic class word
// in toks, whoever it is aimed at, quoted or not: the generic score that
// comment moderation reads, apart from the label.
func (c *Classifier) toxicity(toks []token) map[lexicon.Category]float64 {
	var out map[lexicon.Category]float64
	var buf [8]string
	for i := range toks {
		t := &toks[i]
		lookups := tokenLookups(buf[:0], t.lexical, t.keys)
		for _, tc := range c.toxic {
			if out[tc.set.category] >= tc.set.toxicity {
				continue
			}
			found := tc.set.matches(t)
			for _, k := range lookups {
				if found {
					break
				}
				for _, p := range tc.multi[k] {
					if _, ok := p.matchAt(toks, i); ok {
						found = true
						break
					}
				}
			}
			if found {
				if out == nil {
					out = map[lexicon.Category]float64{}
				}
				out[tc.set.category] = tc.set.toxicity
			}
		}
	}
	return out
}
