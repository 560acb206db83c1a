package classifier

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kasuhara/kasuhara/lexicon"
)

// CorpusLine names a message of a corpus by where it is, never by its
// text: customer text is personal data.
type CorpusLine struct {
	File string `json:"file"`
	Line int    `json:"line"`
	ID   string `json:"id,omitempty"` // as the corpus gives it; "" when none
}

func (l CorpusLine) String() string {
	s := fmt.Sprintf("%s:%d", l.File, l.Line)
	if l.ID != "" {
		s += " (id " + l.ID + ")"
	}
	return s
}

// Coverage counts, over messages classified one by one, those each entry
// and each phrase (pattern or variant) of a classifier's lexicon fires on.
//
// A phrase fires on a message when one of its compiled patterns produced a
// match the message's Result reports: after allow phrases and after the
// overlap rule, so a phrase that only ever matches where a heavier or
// longer match of its category (another phrase of its own entry included)
// wins the same words never fires. An entry fires when any of its phrases
// does.
//
// A Coverage is not safe for concurrent use.
type Coverage struct {
	c        *Classifier
	entries  []EntryCoverage
	messages int
}

// EntryCoverage is what one entry fired on.
type EntryCoverage struct {
	Category lexicon.Category
	Entry    string // the entry's pattern
	Pos      lexicon.Position
	Fires
	// Phrases are the entry's phrases in Phrases() order.
	Phrases []PhraseCoverage
}

// PhraseCoverage is what one phrase fired on.
type PhraseCoverage struct {
	Phrase string
	Fires
}

// Fires counts the messages something fired on.
type Fires struct {
	Messages int
	// First is the first message it fired on; meaningful when Messages > 0.
	First CorpusLine
}

func (f *Fires) add(at CorpusLine) {
	if f.Messages == 0 {
		f.First = at
	}
	f.Messages++
}

// NewCoverage starts counting for c's lexicon.
func NewCoverage(c *Classifier) *Coverage {
	cv := &Coverage{c: c, entries: make([]EntryCoverage, len(c.entries))}
	for i, e := range c.entries {
		ec := EntryCoverage{Category: e.Category, Entry: e.Pattern, Pos: e.Pos}
		for _, ph := range e.Phrases() {
			ec.Phrases = append(ec.Phrases, PhraseCoverage{Phrase: ph})
		}
		cv.entries[i] = ec
	}
	return cv
}

// Add classifies text, the message at at, and counts what fired. A text
// Classify refuses is not counted and its error returned.
func (cv *Coverage) Add(text string, at CorpusLine) (Result, error) {
	r, _, hits, err := cv.c.classifyHits(text, false)
	if err != nil {
		return r, err
	}
	cv.messages++
	// Count a message once per entry and phrase, however often they match.
	seen := map[[2]int]bool{} // {entry, phrase}; phrase -1 is the entry
	once := func(entry, phrase int, f *Fires) {
		if k := [2]int{entry, phrase}; !seen[k] {
			seen[k] = true
			f.add(at)
		}
	}
	for _, h := range hits {
		ec := &cv.entries[h.entry]
		once(h.entry, -1, &ec.Fires)
		ph := cv.c.phraseOf[h.pat]
		once(h.entry, ph, &ec.Phrases[ph].Fires)
	}
	return r, nil
}

// CoverageReport is what a Coverage counted.
type CoverageReport struct {
	Messages int
	Entries  []EntryCoverage // in lexicon order
	// The counts of entries and phrases (of every entry) that fired on no
	// message and on exactly one.
	EntriesNever, EntriesOnce int
	Phrases                   int
	PhrasesNever, PhrasesOnce int
}

// Report returns the counts so far.
func (cv *Coverage) Report() CoverageReport {
	rep := CoverageReport{Messages: cv.messages}
	for _, ec := range cv.entries {
		ec.Phrases = append([]PhraseCoverage(nil), ec.Phrases...)
		rep.Entries = append(rep.Entries, ec)
		countFires(ec.Fires, &rep.EntriesNever, &rep.EntriesOnce)
		for _, p := range ec.Phrases {
			rep.Phrases++
			countFires(p.Fires, &rep.PhrasesNever, &rep.PhrasesOnce)
		}
	}
	return rep
}

func countFires(f Fires, never, once *int) {
	switch f.Messages {
	case 0:
		*never++
	case 1:
		*once++
	}
}

// CoverageFinding is an entry or a phrase that fired on no message or on
// exactly one: a candidate to fold into a more general entry or drop.
type CoverageFinding struct {
	Pos      lexicon.Position // the entry's
	Category lexicon.Category
	Entry    string
	// Phrase is the phrase the finding is about; "" when it is about the
	// entry as a whole.
	Phrase string
	Fires
}

// Message says what the finding is, naming the one message by place.
func (f CoverageFinding) Message() string {
	what := fmt.Sprintf("%s entry %q", f.Category, f.Entry)
	if f.Phrase != "" {
		what += fmt.Sprintf(" phrase %q", f.Phrase)
	}
	if f.Messages == 0 {
		return what + " never fires on the corpus"
	}
	return what + " fires on one message only, " + f.First.String()
}

// Findings lists, sorted by file and line, the entries that never fire or
// fire once and, of entries that fire, the phrases that never do and (when
// the entry fires on more than one message) those that fire once. What the
// entry's own finding says is not repeated for its phrases: those of an
// entry that never fires, those that fire on the one message of an entry
// that fires once, and the phrase of an entry that has one. Report's
// counts include every phrase.
func (rep CoverageReport) Findings() []CoverageFinding {
	var out []CoverageFinding
	for _, ec := range rep.Entries {
		f := CoverageFinding{Pos: ec.Pos, Category: ec.Category, Entry: ec.Entry}
		if ec.Messages <= 1 {
			f.Fires = ec.Fires
			out = append(out, f)
		}
		if ec.Messages == 0 || len(ec.Phrases) == 1 {
			continue
		}
		for _, p := range ec.Phrases {
			if p.Messages == 0 || p.Messages == 1 && ec.Messages > 1 {
				f.Phrase, f.Fires = p.Phrase, p.Fires
				out = append(out, f)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out
}

// Summary is one line of counts and shares.
func (rep CoverageReport) Summary() string {
	return fmt.Sprintf("coverage: %d messages; %d entries: %d never fire (%s), %d fire once (%s); %d phrases: %d never fire (%s), %d fire once (%s)",
		rep.Messages, len(rep.Entries), rep.EntriesNever, percent(rep.EntriesNever, len(rep.Entries)),
		rep.EntriesOnce, percent(rep.EntriesOnce, len(rep.Entries)),
		rep.Phrases, rep.PhrasesNever, percent(rep.PhrasesNever, rep.Phrases), rep.PhrasesOnce, percent(rep.PhrasesOnce, rep.Phrases))
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// Forms is how one entry's phrases compile: what each matches.
type Forms struct {
	Category lexicon.Category
	Entry    string
	Pos      lexicon.Position
	Weight   float64
	// Moods are the entry's moods; empty accepts any.
	Moods   []lexicon.Mood
	Phrases []PhraseForms
}

// PhraseForms are the patterns a phrase compiles to, one per distinct
// reading (see compileSuffixes), each shown element by element; Err says
// why a phrase compiles to none.
type PhraseForms struct {
	Phrase   string
	Patterns []string
	Err      string
}

// FormsOf compiles the phrases of every entry of lex whose pattern is
// entry (one per category that has it) as a classifier would. An entry
// lex does not have is an *UnknownEntryError naming the closest.
func FormsOf(lex *lexicon.Set, entry string, opts Options) ([]Forms, error) {
	base, err := New(&lexicon.Set{Version: lex.Version, Substitutions: lex.Substitutions, Classes: lex.Classes}, opts)
	if err != nil {
		return nil, err
	}
	var out []Forms
	for _, e := range lex.Entries {
		if e.Pattern != entry {
			continue
		}
		f := Forms{Category: e.Category, Entry: e.Pattern, Pos: e.Pos, Weight: e.Weight, Moods: e.Moods}
		for _, ph := range e.Phrases() {
			pf := PhraseForms{Phrase: ph}
			pats, err := base.an.compile(ph, -1, base.subs, base.classes)
			if err != nil {
				pf.Err = err.Error()
			}
			for _, p := range pats {
				pf.Patterns = append(pf.Patterns, p.describe())
			}
			f.Phrases = append(f.Phrases, pf)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, &UnknownEntryError{Entry: entry, Close: closeEntries(lex, entry)}
	}
	return out, nil
}

// UnknownEntryError reports an entry name a lexicon does not have.
type UnknownEntryError struct {
	Entry string
	Close []string // the closest entry names, closest first
}

func (e *UnknownEntryError) Error() string {
	msg := fmt.Sprintf("no entry %q", e.Entry)
	if len(e.Close) == 0 {
		return msg + "; expect an entry's pattern as written"
	}
	q := make([]string, len(e.Close))
	for i, c := range e.Close {
		q[i] = fmt.Sprintf("%q", c)
	}
	return msg + "; close: " + strings.Join(q, ", ")
}

// maxClose is how many close names an UnknownEntryError lists.
const maxClose = 5

// closeEntries returns the entry names nearest to name: those that contain
// it or that it contains, then those within n/2 edits of its n letters,
// each group by edits.
func closeEntries(lex *lexicon.Set, name string) []string {
	type cand struct {
		name      string
		contained bool // one holds the other
		dist      int
	}
	var cs []cand
	seen := map[string]bool{}
	n := len([]rune(name))
	for _, e := range lex.Entries {
		if seen[e.Pattern] {
			continue
		}
		seen[e.Pattern] = true
		c := cand{e.Pattern, name != "" && (strings.Contains(e.Pattern, name) || strings.Contains(name, e.Pattern)),
			editDistance([]rune(name), []rune(e.Pattern))}
		if c.contained || c.dist <= n/2 {
			cs = append(cs, c)
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].contained != cs[j].contained {
			return cs[i].contained
		}
		return cs[i].dist < cs[j].dist
	})
	var out []string
	for _, c := range cs[:min(len(cs), maxClose)] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe shows a compiled pattern on one line, element by element: a
// word as surface[lemma …; reading …; spelt …; mood and kind], a gap as
// …(≤maxGap words), a word class as {class}.
func (p *pattern) describe() string {
	s := make([]string, len(p.elems))
	for i := range p.elems {
		s[i] = p.elems[i].describe()
	}
	switch p.mood {
	case moodTe:
		s = append(s, "(ends as a て-request)")
	case moodQuestion:
		s = append(s, "(ends as a question)")
	}
	if p.intent {
		s = append(s, "+ any intent ending (ぞ, からな, てやる)")
	}
	return strings.Join(s, " ")
}

func (e *element) describe() string {
	switch {
	case e.gap:
		return fmt.Sprintf("…(≤%d words, same clause)", maxGap)
	case e.class != "":
		return "{" + e.class + "}"
	}
	var parts []string
	if len(e.keys) > 0 {
		parts = append(parts, "lemma "+strings.Join(e.keys, "/"))
	}
	if len(e.readings) > 0 {
		parts = append(parts, "reading "+strings.Join(e.readings, "/"))
	}
	if e.spelling != "" {
		parts = append(parts, "spelt "+e.spelling)
	}
	var kind []string
	if e.imperative {
		kind = append(kind, "imperative")
		if e.aspect {
			kind = append(kind, "lasting (てろ, とけ)")
		}
	}
	if e.optional {
		kind = append(kind, "optional particle")
	}
	if e.noun {
		kind = append(kind, "noun")
	}
	if e.kana {
		kind = append(kind, "kana")
	}
	if len(kind) > 0 {
		parts = append(parts, strings.Join(kind, " "))
	}
	return e.surface + "[" + strings.Join(parts, "; ") + "]"
}
