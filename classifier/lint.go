package classifier

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kasuhara/kasuhara/lexicon"
)

// Lint checks what lexicon.Load cannot, because it needs the tokenizer. It
// reports, as *lexicon.Error values naming file and line:
//
//   - phrases that compile to nothing (no words, misplaced gaps);
//   - shadowed phrases: two phrases of one category that compile to the
//     same words, so that one entry hides the other (both are reported);
//   - phrases that do not fire on their own text: the tokenizer splits the
//     phrase differently in a message than as a pattern, an allow phrase
//     covers it, or another entry of its category wins the same words;
//   - examples that do not make their entry fire, and counter-examples
//     that do.
//
// Every problem is reported, sorted by file and line; nil means the lexicon
// is clean. Only invalid opts give an error that is not a *lexicon.Error.
func Lint(lex *lexicon.Set, opts Options) []error {
	if err := opts.setDefaults(); err != nil {
		return []error{err}
	}
	if opts.Analyzer == nil {
		a, err := NewAnalyzer()
		if err != nil {
			return []error{fmt.Errorf("new analyzer: %w", err)}
		}
		opts.Analyzer = a
	}
	// A classifier with the substitutions and no entries compiles phrases
	// one by one, exactly as New does.
	base, err := New(&lexicon.Set{Version: lex.Version, Substitutions: lex.Substitutions, Classes: lex.Classes}, opts)
	if err != nil {
		return []error{err}
	}
	l := &linter{base: base}
	good := l.compile(lex)
	c, err := New(good, opts)
	if err != nil {
		// Every phrase of good compiled above: this is a bug, not the lexicon.
		return append(l.errs, fmt.Errorf("compile the phrases that lint: %w", err))
	}
	l.shadowed()
	l.ownText(c)
	l.examples(c)
	l.classes(c, lex)
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i].(*lexicon.Error).Pos, l.errs[j].(*lexicon.Error).Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return l.errs
}

// linter holds what the checks share: every phrase compiled on its own.
type linter struct {
	base    *Classifier // substitutions only: the compiler and normaliser
	entries []lintEntry
	allow   []lintAllow
	shadow  map[shadowKey]bool // phrases reported as shadowed
	errs    []error
}

// lintEntry is an entry whose pattern compiled, with its phrases that did.
type lintEntry struct {
	e       lexicon.Entry
	phrases []lintPhrase
}

type lintPhrase struct {
	text string
	pats []*pattern // the first is the phrase read as written
}

type lintAllow struct {
	a    lexicon.Allow
	pats []*pattern
}

func (l *linter) errf(pos lexicon.Position, format string, args ...any) {
	l.errs = append(l.errs, &lexicon.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// compile compiles every phrase, reporting those that cannot match, and
// returns lex without them (an entry whose pattern fails is left out).
func (l *linter) compile(lex *lexicon.Set) *lexicon.Set {
	good := *lex
	good.Entries, good.Allow = nil, nil
	for _, e := range lex.Entries {
		le := lintEntry{e: e}
		kept := e
		kept.Variants = nil
		for i, ph := range e.Phrases() {
			pats, ok := l.compilePhrase(ph, e.Pos)
			if !ok {
				if i == 0 {
					le.phrases = nil
					break
				}
				continue
			}
			le.phrases = append(le.phrases, lintPhrase{ph, pats})
			if i > 0 {
				kept.Variants = append(kept.Variants, ph)
			}
		}
		if len(le.phrases) > 0 {
			le.e = kept
			l.entries = append(l.entries, le)
			good.Entries = append(good.Entries, kept)
		}
	}
	for _, a := range lex.Allow {
		if pats, ok := l.compilePhrase(a.Phrase, a.Pos); ok {
			l.allow = append(l.allow, lintAllow{a, pats})
			good.Allow = append(good.Allow, a)
		}
	}
	return &good
}

// compileHints say what a pattern that compiles to nothing should be.
var compileHints = map[string]string{
	"has no words":          "expect at least one word that is not punctuation or a particle",
	"has two gaps in a row": "expect words between gaps",
}

func (l *linter) compilePhrase(phrase string, pos lexicon.Position) ([]*pattern, bool) {
	pats, err := l.base.an.compile(phrase, -1, l.base.subs, l.base.classes)
	if err != nil {
		msg := err.Error()
		for suffix, hint := range compileHints {
			if strings.HasSuffix(msg, suffix) {
				msg += "; " + hint
			}
		}
		l.errf(pos, "%s", msg)
		return nil, false
	}
	return pats, true
}

// shadowed reports phrases of one category that read as the same words
// as a phrase of another entry, at each entry naming the others. Spellings
// of one entry that read alike (バカ, ばか) are harmless: the entry counts
// once.
func (l *linter) shadowed() {
	type written struct {
		entry int
		ph    lintPhrase
	}
	type key struct {
		c   lexicon.Category
		sig string
	}
	groups := map[key][]written{}
	var order []key
	for i, le := range l.entries {
		for _, ph := range le.phrases {
			k := key{le.e.Category, ph.pats[0].signature()}
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], written{i, ph})
		}
	}
	l.shadow = map[shadowKey]bool{}
	for _, k := range order {
		g := groups[k]
		for _, w := range g {
			var others []string
			for _, o := range g {
				if o.entry != w.entry {
					others = append(others, fmt.Sprintf("%q at %s", o.ph.text, l.entries[o.entry].e.Pos))
				}
			}
			if len(others) == 0 {
				continue
			}
			e := l.entries[w.entry].e
			l.shadow[shadowKey{w.entry, w.ph.text}] = true
			l.errf(e.Pos, "%s phrase %q reads as the same words (%s) as %s: one entry shadows the other; expect each phrase once per category (merge the entries or drop one)",
				e.Category, w.ph.text, w.ph.pats[0].words(), strings.Join(others, ", "))
		}
	}
}

// shadowKey is a phrase of an entry (an index into linter.entries).
type shadowKey struct {
	entry  int
	phrase string
}

// ownText reports phrases that do not make their entry fire when
// classified as a message themselves. Shadowed phrases are reported already;
// phrases with a gap are left to their entry's examples (written as a
// message, … is a separator the normaliser drops, joining the words).
func (l *linter) ownText(c *Classifier) {
	for i, le := range l.entries {
		for _, ph := range le.phrases {
			if l.shadow[shadowKey{i, ph.text}] {
				continue
			}
			if hasGap(ph.text) {
				// A gap has no text of its own: its examples check it.
				continue
			}
			text := ph.text
			r, err := c.Classify(text)
			if err != nil {
				l.errf(le.e.Pos, "%s phrase %q cannot be classified: %v", le.e.Category, ph.text, err)
				continue
			}
			if _, ok := fired(r, le.e); ok {
				continue
			}
			switch why, cause := l.whyNot(c, i, []lintPhrase{ph}, text, r); cause {
			case causePunct:
				l.errf(le.e.Pos, "%s phrase %q cannot match its own text: %s; expect no punctuation inside a phrase (a pattern leaves it out, a message keeps it): write the words without it, or put … between them",
					le.e.Category, ph.text, why)
			case causeSplit:
				l.errf(le.e.Pos, "%s phrase %q cannot match its own text: %s; expect a phrase written the way the tokenizer splits it (see kasuhara explain %q)",
					le.e.Category, ph.text, why, ph.text)
			case causeEntry:
				l.errf(le.e.Pos, "%s phrase %q never fires on its own text: %s; expect one entry per phrase (merge them, or make this one the heavier)",
					le.e.Category, ph.text, why)
			case causeAllow:
				l.errf(le.e.Pos, "%s phrase %q never fires on its own text: %s; expect no allow phrase around an entry's own phrase",
					le.e.Category, ph.text, why)
			default:
				l.errf(le.e.Pos, "%s phrase %q never fires on its own text: %s; expect an entry to fire on its own phrase",
					le.e.Category, ph.text, why)
			}
		}
	}
}

// examples reports examples that do not make their entry fire and
// counter-examples that do.
func (l *linter) examples(c *Classifier) {
	for i, le := range l.entries {
		e := le.e
		for _, ex := range e.Examples {
			r, err := c.Classify(ex)
			if err != nil {
				l.errf(e.Pos, "%s entry %q: example %q: %v", e.Category, e.Pattern, ex, err)
				continue
			}
			if _, ok := fired(r, e); ok {
				continue
			}
			why, _ := l.whyNot(c, i, le.phrases, ex, r)
			l.errf(e.Pos, "%s entry %q: example %q does not make it fire: %s; expect every example to make its entry fire",
				e.Category, e.Pattern, ex, why)
		}
		for _, ex := range e.CounterExamples {
			r, err := c.Classify(ex)
			if err != nil {
				l.errf(e.Pos, "%s entry %q: counter-example %q: %v", e.Category, e.Pattern, ex, err)
				continue
			}
			if m, ok := fired(r, e); ok {
				l.errf(e.Pos, "%s entry %q: counter-example %q makes it fire (on %q at [%d,%d)); expect no counter-example to make its entry fire",
					e.Category, e.Pattern, ex, m.Text, m.Start, m.End)
			}
		}
	}
}

// classes checks each class as entries are checked: every example holds
// one of its words, no counter-example does, and some pattern or class
// uses it.
func (l *linter) classes(c *Classifier, lex *lexicon.Set) {
	used := map[string]bool{}
	for _, e := range lex.Entries {
		for _, p := range e.Phrases() {
			for _, name := range lexicon.ClassRefs(p) {
				used[name] = true
			}
		}
	}
	for _, a := range lex.Allow {
		for _, name := range lexicon.ClassRefs(a.Phrase) {
			used[name] = true
		}
	}
	for _, cl := range lex.Classes {
		for _, w := range cl.Words {
			for _, name := range lexicon.ClassRefs(w) {
				used[name] = true
			}
		}
	}
	for _, cl := range lex.Classes {
		cs := c.classes[cl.Name]
		if cs == nil {
			continue // it did not compile; reported already
		}
		if !used[cl.Name] && cl.Toxicity == 0 {
			// A class with a toxicity serves the toxicity scores alone.
			l.errf(cl.Pos, "class %q is used by no pattern and no class; expect {%s} in a pattern, or remove it", cl.Name, cl.Name)
		}
		for _, ex := range cl.Examples {
			if at, _ := c.findClass(cs, ex); at == "" {
				l.errf(cl.Pos, "class %q: example %q holds none of its words (it reads as %s); expect every example to hold one", cl.Name, ex, tokenWords(c.an.analyze(ex, c.subs, nil).tokens))
			}
		}
		for _, ex := range cl.CounterExamples {
			if at, w := c.findClass(cs, ex); at != "" {
				l.errf(cl.Pos, "class %q: counter-example %q holds its word %q; expect no counter-example to hold one", cl.Name, ex, w)
			}
		}
	}
}

// findClass returns where in text a word of cs is found, as "[i,j)" in
// tokens, and the text of the word; "" when none is.
func (c *Classifier) findClass(cs *classSet, text string) (string, string) {
	toks := c.an.analyze(text, c.subs, nil).tokens
	for i := range toks {
		var end int
		if cs.each(toks, i, func(e int) bool { end = e; return true }) {
			return fmt.Sprintf("[%d,%d)", i, end), tokenWords(toks[i:end])
		}
	}
	return "", ""
}

// fired returns the first match of entry e in r.
func fired(r Result, e lexicon.Entry) (Match, bool) {
	for _, m := range r.Matches {
		if m.Category == e.Category && m.Entry == e.Pattern && m.Source == e.Pos {
			return m, true
		}
	}
	return Match{}, false
}

// Why an entry did not fire where its phrases should have matched.
const (
	causeSplit = iota // no phrase matches the text's tokens
	causePunct        // no phrase matches, and the text has punctuation inside
	causeEntry        // another entry of the category won the words
	causeAllow        // an allow phrase covers the words
	causeUnknown
)

// whyNot explains why entry l.entries[entry] did not fire on text (whose
// result is r), where one of phrases should have matched.
func (l *linter) whyNot(c *Classifier, entry int, phrases []lintPhrase, text string, r Result) (string, int) {
	an := c.an.analyze(text, c.subs, nil)
	e := l.entries[entry].e
	var spans []span // token ranges the phrases match
	for _, ph := range phrases {
		for _, p := range ph.pats {
			for i := range an.tokens {
				if end, ok := p.matchAt(an.tokens, i); ok {
					spans = append(spans, span{i, end})
				}
			}
		}
	}
	if len(spans) == 0 {
		var pats []string
		for _, ph := range phrases {
			pats = append(pats, ph.pats[0].words())
		}
		cause := causeSplit
		for i := 1; i+1 < len(an.tokens); i++ {
			if strings.HasPrefix(an.tokens[i].pos, "記号") {
				cause = causePunct
			}
		}
		return fmt.Sprintf("the text reads as %s, the pattern as %s", tokenWords(an.tokens), strings.Join(pats, " or ")), cause
	}
	for _, sp := range spans {
		orig := an.text.origSpan(an.tokens[sp.start].start, an.tokens[sp.end-1].end)
		for _, m := range r.Matches {
			if m.Category == e.Category && m.Start < orig.end && orig.start < m.End {
				return fmt.Sprintf("%s entry %q (%s) fires on the same words %q with weight %.2f and wins",
					m.Category, m.Entry, m.Source, m.Text, m.Weight), causeEntry
			}
		}
		for _, a := range l.allow {
			for _, p := range a.pats {
				for i := 0; i <= sp.start; i++ {
					if end, ok := p.matchAt(an.tokens, i); ok && end >= sp.end {
						return fmt.Sprintf("allow phrase %q (%s) covers it", a.a.Phrase, a.a.Pos), causeAllow
					}
				}
			}
		}
	}
	return "its matches are dropped", causeUnknown
}

// hasGap reports a phrase that is not text as written: it has a … gap or a
// {class} placeholder, so it cannot be checked against itself.
func hasGap(phrase string) bool {
	if classMarker.MatchString(phrase) {
		return true
	}
	for _, g := range gapMarks {
		if strings.Contains(phrase, g) {
			return true
		}
	}
	return false
}

// words shows a compiled pattern as its words, gaps as ….
func (p *pattern) words() string {
	s := make([]string, len(p.elems))
	for i, e := range p.elems {
		s[i] = e.surface
	}
	return strings.Join(s, "|")
}

// tokenWords shows tokens as their surfaces.
func tokenWords(toks []token) string {
	s := make([]string, len(toks))
	for i, t := range toks {
		s[i] = t.surface
	}
	return strings.Join(s, "|")
}
