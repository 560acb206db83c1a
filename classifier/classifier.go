// Package classifier labels a Japanese customer message routine, escalate or
// harassment, and explains why.
//
// Text is normalised (NFKC, lower case), tokenised by kagome with the IPA
// dictionary, and matched token by token against the compiled phrases of a
// lexicon.Set. Each entry that fires adds its weight to its category; weights
// combine as noisy-OR (1-Π(1-w)). The harassment score is the noisy-OR over
// every harassment category. The label is:
//
//   - harassment when the harassment score >= Options.HarassmentThreshold;
//   - escalate when the harassment score or the escalation category's score
//     >= Options.EscalateThreshold;
//   - routine otherwise.
//
// It owns the pipeline (normalise, tokenise, match, score, label), lint,
// coverage and explain on top of it. It does not parse lexicon files
// (package lexicon does), serve (package server), read mail (package
// mailfilter) or score corpora (package evaluation), and imports no gRPC,
// protobuf or HTTP.
package classifier

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/kasuhara/kasuhara/lexicon"
)

// Label is a verdict. The zero value means unspecified: no verdict was made.
type Label int

// The labels, in rising order of concern.
const (
	LabelUnspecified Label = iota
	Routine
	Escalate
	Harassment
)

var labelNames = [...]string{"unspecified", "routine", "escalate", "harassment"}

// String returns the label's lower-case name.
func (l Label) String() string {
	if l < 0 || int(l) >= len(labelNames) {
		return fmt.Sprintf("Label(%d)", int(l))
	}
	return labelNames[l]
}

// ParseLabel reads a label name as String writes it.
func ParseLabel(s string) (Label, error) {
	for i, n := range labelNames[1:] {
		if s == n {
			return Label(i + 1), nil
		}
	}
	return LabelUnspecified, fmt.Errorf("unknown label %q; expect routine|escalate|harassment", s)
}

// Defaults for Options.
const (
	DefaultHarassmentThreshold = 0.75
	DefaultEscalateThreshold   = 0.5
	DefaultMaxTextBytes        = 64 << 10
)

// Options configure a Classifier. Zero fields take the defaults.
type Options struct {
	// HarassmentThreshold is the harassment score at or above which a
	// message is harassment. In (0,1].
	HarassmentThreshold float64
	// EscalateThreshold is the harassment or escalation score at or above
	// which a message that is not harassment is escalate. In (0,1].
	EscalateThreshold float64
	// MaxTextBytes is the largest text Classify accepts.
	MaxTextBytes int
	// Analyzer is the tokenizer to share; nil builds a new one.
	Analyzer *Analyzer
}

func (o *Options) setDefaults() error {
	if o.HarassmentThreshold == 0 {
		o.HarassmentThreshold = DefaultHarassmentThreshold
	}
	if o.EscalateThreshold == 0 {
		o.EscalateThreshold = DefaultEscalateThreshold
	}
	if o.MaxTextBytes == 0 {
		o.MaxTextBytes = DefaultMaxTextBytes
	}
	for _, t := range []struct {
		name string
		v    float64
	}{{"harassment threshold", o.HarassmentThreshold}, {"escalate threshold", o.EscalateThreshold}} {
		if !(t.v > 0 && t.v <= 1) {
			return fmt.Errorf("%s %v, want in (0,1]", t.name, t.v)
		}
	}
	if o.MaxTextBytes < 0 {
		return fmt.Errorf("max text bytes %d, want > 0", o.MaxTextBytes)
	}
	return nil
}

// Errors for text Classify will not read.
var (
	ErrEmptyText = errors.New("empty, want some text")
)

// InvalidUTF8Error reports text that is not valid UTF-8.
type InvalidUTF8Error struct {
	Offset int // byte offset of the first invalid sequence
}

func (e *InvalidUTF8Error) Error() string {
	return fmt.Sprintf("not valid UTF-8 (first bad byte at offset %d)", e.Offset)
}

// TooLongError reports text over Options.MaxTextBytes.
type TooLongError struct {
	Got, Max int
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("%d bytes, want <= %d", e.Got, e.Max)
}

// Match is one place where a lexicon entry fired.
type Match struct {
	Category lexicon.Category
	// Entry is the pattern of the entry that fired (its name).
	Entry string
	// Text is the matched stretch of the original text.
	Text string
	// Start and End are half-open offsets in Unicode code points of the
	// original text.
	Start, End int
	// Weight is what the match counts toward its category: the entry's
	// weight as its context modified it.
	Weight float64
	// Modifiers say why Weight differs from the entry's weight.
	Modifiers []Modifier
	// Source is where the entry is written.
	Source lexicon.Position
}

// Result is a verdict with its reasons.
type Result struct {
	Label Label
	// Score is the harassment score in [0,1].
	Score float64
	// Categories holds the score of every category that had a match.
	Categories map[lexicon.Category]float64
	// Toxicity holds, by category, how toxic the most toxic word of the
	// lexicon's classes in the text is, whoever it is aimed at: abuse of a
	// third party counts here though not toward the label. Nil when no
	// toxic word was found.
	Toxicity map[lexicon.Category]float64
	Matches  []Match
	// LexiconVersion is the version of the lexicon that decided.
	LexiconVersion string
}

// Classifier labels messages with one lexicon. It is immutable and safe for
// concurrent use.
type Classifier struct {
	lex   *lexicon.Set
	an    *Analyzer
	opts  Options
	index map[string][]int32 // pattern ids by the lookups of a pattern's first word
	// pats are the compiled patterns by id, and gates what find checks of
	// each before matching it (see gate).
	pats  []*pattern
	gates gates
	// wordIDs numbers the words patterns require.
	wordIDs *wordIDs
	entries []lexicon.Entry
	subs    *substitutions
	classes classTable
	// memberIndex finds the one-word members of classes by lookup, and
	// firstIndex the many-word members by their first words' lookups, for
	// class masks (see classMask).
	memberIndex, firstIndex map[string][]memberRef
	toxic                   []*classSet
	// firstClasses are the builtin classes some pattern starts with.
	firstClasses []classKey
	// toxicMulti finds the many-word members of toxic classes by the
	// lookups of their first words.
	toxicMulti map[string][]memberRef
	// toxicBits are the mask bits of the toxic classes; toxicUnmasked
	// counts toxic classes without one, which every token is checked for.
	toxicBits     classBits
	toxicUnmasked int
	// npatterns counts compiled patterns, variants and allow phrases.
	npatterns int
	// phraseOf is, by pattern id, the index in its entry's Phrases() of
	// the phrase it was compiled from (-1 for an allow phrase).
	phraseOf []int
	// scratch holds *scratch: per-call buffers sized by the lexicon,
	// reused so that a call allocates little.
	scratch sync.Pool
	// knownWords caches what known computes, by dictionary entry.
	knownWords []atomic.Pointer[knownWord]
}

// scratch is what one call needs by pattern. tried holds stamps:
// stamp(i) marks token i of this call and is above every stamp of earlier
// calls, so nothing needs clearing between calls.
type scratch struct {
	tried   []int32 // by pattern id: stamp of the token where last tried
	base    int32
	lookups []string
	// has[id] is the stamp of the first token of the last sentence with a
	// token looked up by required word id (see gates).
	has []int32
	ids []int32 // a token's word ids, for tokens not known
	// known is by token what is cached of its word, nil for a token not
	// read as its dictionary entry (see markClasses).
	known []*knownWord
	// sentClasses are by sentence the classes some word may begin there.
	sentClasses []classBits
	ends        endsMemo
	buffers     // the last call's, emptied
	// ctx, when set, ends find early once done (ClassifyContext).
	ctx context.Context
}

func (sc *scratch) stamp(i int) int32 { return sc.base + int32(i) + 1 }

// wordsOf returns the numbers of the words patterns require that t has a
// lookup of: from kw, what is cached of its word, else looked up.
func (c *Classifier) wordsOf(t *token, kw *knownWord, sc *scratch) []int32 {
	if kw != nil {
		return kw.words
	}
	var buf [8]string
	sc.ids = sc.ids[:0]
	for _, k := range uniqueLookups(buf[:0], t) {
		sc.ids = c.wordIDs.add(sc.ids, k)
	}
	return sc.ids
}

func (c *Classifier) getScratch() *scratch {
	if sc, ok := c.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{tried: make([]int32, c.npatterns), has: make([]int32, c.wordIDs.n())}
}

// putScratch returns sc after a call that stamped indexes below n.
func (c *Classifier) putScratch(sc *scratch, n int) {
	if int64(sc.base)+int64(n)+1 > math.MaxInt32/2 {
		clear(sc.tried)
		clear(sc.has)
		sc.base = 0
	} else {
		sc.base += int32(n) + 1
	}
	sc.trim()
	c.scratch.Put(sc)
}

// trim drops buffers grown past what ordinary messages need: a few very
// long messages must not leave every pooled scratch holding megabytes.
func (sc *scratch) trim() {
	if cap(sc.tokens) > maxPooledRunes/2 {
		sc.tokens = nil
	}
	for _, t := range []*normText{&sc.norm.a, &sc.norm.b} {
		if cap(t.runes) > maxPooledRunes {
			*t = normText{}
		}
	}
}

// maxPooledRunes is the longest normalised text whose buffers are kept for
// the next call: 8 Ki runes, some 16 pages of Japanese.
const maxPooledRunes = 8 << 10

// New compiles every phrase of lex. A phrase that cannot match (no words, a
// misplaced gap) is an error naming its file and line; all are reported.
func New(lex *lexicon.Set, opts Options) (*Classifier, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if opts.Analyzer == nil {
		a, err := NewAnalyzer()
		if err != nil {
			return nil, fmt.Errorf("new analyzer: %w", err)
		}
		opts.Analyzer = a
	}
	pairs := make([][2]string, len(lex.Substitutions))
	for i, s := range lex.Substitutions {
		pairs[i] = [2]string{s.From, s.To}
	}
	c := &Classifier{lex: lex, an: opts.Analyzer, opts: opts, index: map[string][]int32{}, entries: lex.Entries,
		subs: newSubstitutions(pairs), wordIDs: newWordIDs(), knownWords: make([]atomic.Pointer[knownWord], len(opts.Analyzer.lexicals))}
	classes, errs := c.an.compileClasses(lex, c.subs)
	c.classes = classes
	c.memberIndex, c.firstIndex = map[string][]memberRef{}, map[string][]memberRef{}
	for i, name := range slices.Sorted(maps.Keys(classes)) {
		cs := classes[name]
		cs.bit = -1
		if i >= maxMasked {
			continue
		}
		cs.bit = i
		for m := range cs.members {
			for _, k := range cs.members[m].lookups() {
				c.memberIndex[k] = append(c.memberIndex[k], memberRef{cs, m, i})
			}
		}
		for m, mp := range cs.multi {
			for _, k := range mp.elems[0].lookups() {
				c.firstIndex[k] = append(c.firstIndex[k], memberRef{cs, m, i})
			}
		}
	}
	add := func(phrase string, owner, nth int, pos lexicon.Position) {
		ps, err := c.an.compile(phrase, owner, c.subs, c.classes)
		if err != nil {
			errs = append(errs, &lexicon.Error{Pos: pos, Msg: err.Error()})
			return
		}
		for _, p := range ps {
			p.id = c.npatterns
			c.npatterns++
			c.phraseOf = append(c.phraseOf, nth)
			c.pats = append(c.pats, p)
			c.gates.add(p, c.wordIDs)
			seen := map[string]bool{}
			for _, k := range p.elems[0].lookups() {
				if !seen[k] {
					seen[k] = true
					c.index[k] = append(c.index[k], int32(p.id))
				}
			}
		}
	}
	for i, e := range lex.Entries {
		for j, ph := range e.Phrases() {
			add(ph, i, j, e.Pos)
		}
	}
	for _, a := range lex.Allow {
		add(a.Phrase, -1, -1, a.Pos)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, ck := range classKeys {
		if len(c.index[ck.key]) > 0 {
			c.firstClasses = append(c.firstClasses, ck) // only builtins some pattern starts with
		}
	}
	c.toxic = toxicClasses(c.classes)
	for _, cs := range c.toxic {
		if cs.bit >= 0 {
			c.toxicBits.set(cs.bit)
		} else {
			c.toxicUnmasked++
		}
	}
	c.toxicMulti = map[string][]memberRef{}
	for _, cs := range c.toxic {
		for m, mp := range cs.multi {
			for _, k := range mp.elems[0].lookups() {
				c.toxicMulti[k] = append(c.toxicMulti[k], memberRef{set: cs, member: m})
			}
		}
	}
	c.subs.forms = newForms(c.patterns(), func(owner int) bool { return owner >= 0 && c.entries[owner].Category.Harassment() })
	return c, nil
}

// patterns returns every compiled pattern once, by id: in the order the
// lexicon writes them, so that what is built from them (see newForms) is
// the same on every start.
func (c *Classifier) patterns() []*pattern { return c.pats }

// Lexicon returns the lexicon the classifier was built from.
func (c *Classifier) Lexicon() *lexicon.Set { return c.lex }

// Analyzer returns the shared analyzer, for building the next classifier.
func (c *Classifier) Analyzer() *Analyzer { return c.an }

// Options returns the options in force, defaults filled in.
func (c *Classifier) Options() Options { return c.opts }

// Validate reports why Classify would refuse text, or nil.
func (c *Classifier) Validate(text string) error {
	if len(text) > c.opts.MaxTextBytes {
		return &TooLongError{Got: len(text), Max: c.opts.MaxTextBytes}
	}
	if !utf8.ValidString(text) {
		for i := 0; i < len(text); {
			r, n := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && n <= 1 {
				return &InvalidUTF8Error{Offset: i}
			}
			i += n
		}
	}
	if strings.TrimSpace(text) == "" {
		return ErrEmptyText
	}
	return nil
}

// Classify labels text.
func (c *Classifier) Classify(text string) (Result, error) {
	r, _, err := c.classify(text, false)
	return r, err
}

// hit is a match in token coordinates before it is reported.
type hit struct {
	entry      int
	pat        int // id of the pattern that matched
	start, end int // token indexes, half-open
	weight     float64
	mods       []Modifier
}

// classify labels text. The analysis it returns is only for Explain, which
// passes keep: otherwise its tokens go back to the pool for the next call.
func (c *Classifier) classify(text string, keep bool) (Result, *analysis, error) {
	r, an, _, err := c.classifyHits(text, keep)
	return r, an, err
}

// classifyHits is classify that also returns the hits the result reports.
func (c *Classifier) classifyHits(text string, keep bool) (Result, *analysis, []hit, error) {
	return c.classifyHitsContext(context.Background(), text, keep)
}

// classifyHitsContext is classifyHits that gives up with ctx's error once
// ctx ends: checked once the text is tokenised, and as find matches.
func (c *Classifier) classifyHitsContext(ctx context.Context, text string, keep bool) (Result, *analysis, []hit, error) {
	if err := c.Validate(text); err != nil {
		return Result{}, nil, nil, err
	}
	sc := c.getScratch()
	var buf *buffers
	if !keep {
		buf = &sc.buffers
	}
	an := c.an.analyze(text, c.subs, buf)
	sc.ctx = ctx
	hits := c.find(an.tokens, sc, true)
	sc.ctx = nil
	if err := ctx.Err(); err != nil {
		clear(an.tokens)
		sc.tokens = an.tokens[:0]
		c.putScratch(sc, len(an.tokens))
		return Result{}, nil, nil, err
	}
	r := c.decide(text, an, hits)
	r.Toxicity = c.toxicity(an.tokens)
	if !keep {
		clear(an.tokens) // let the text they point into go
		sc.tokens = an.tokens[:0]
	}
	c.putScratch(sc, len(an.tokens))
	return r, an, hits, nil
}

// knownWord is what the classifier caches about a known word: the
// patterns it may start, and the classes it is a one-word member of when
// read as its entry says (see classMask).
type knownWord struct {
	// pats are the ids of the patterns whose first word a token described
	// by l may be, in the order find tries them: by lemma, plain verb,
	// reading, spelling. They are cached by l, a known word's (every token
	// of a dictionary entry shares it): the cache grows with the vocabulary
	// seen.
	pats []int32
	// words are the numbers of the words patterns require that it has a
	// lookup of (Classifier.wordIDs).
	words []int32
	// classes has the bits of the classes the word is a one-word member
	// of; begins adds those whose many-word members it may begin.
	classes, begins classBits
}

// known returns what is cached about l, computing it the first time.
func (c *Classifier) known(l *lexical) *knownWord {
	if kw := c.knownWords[l.id].Load(); kw != nil {
		return kw
	}
	var pats []int32
	lookups := tokenLookups(nil, l, l.keys)
	for li, k := range lookups {
		if contains(lookups[:li], k) {
			continue // the reading or spelling is often the lemma itself
		}
		for _, id := range c.index[k] {
			if !slices.Contains(pats, id) && mayStart(&c.pats[id].elems[0], l) {
				pats = append(pats, id)
			}
		}
	}
	kw := &knownWord{pats: pats}
	for _, k := range lookups {
		kw.words = c.wordIDs.add(kw.words, k)
	}
	kw.classes, kw.begins = c.classMask(&token{lexical: l, keys: l.keys, imperative: l.imperative})
	c.knownWords[l.id].Store(kw)
	return kw
}

// mayStart reports whether e, a pattern's first element, may match a
// token described by l, as read by its entry: in any mood, since a
// token's mood is its own (帰れ is a command, or the stem of 帰れば).
// Looked up by a reading it shares, a word often may not: the particle て
// is no 手. Classes are left to find's checks.
func mayStart(e *element, l *lexical) bool {
	if e.set != nil || e.class != "" {
		return true
	}
	return e.matches(&token{lexical: l, keys: l.keys, imperative: true, aspect: e.aspect})
}

// tokenLookups appends to dst the strings a token described by l, read as
// keys, is looked up by, in the order find tries them: every string it
// matches a pattern word by (see element.matches): its lemmas, the plain
// verbs it stands for, its reading and its spelling, and a kanji verb's
// dictionary form read aloud.
func tokenLookups(dst []string, l *lexical, keys []string) []string {
	dst = append(append(append(dst, keys...), l.plain...), l.reading, l.spelling)
	if l.lemmaReading != "" {
		dst = append(dst, l.lemmaReading)
	}
	return dst
}

// find returns every entry match, less harassment matches inside an allow
// phrase, keeping per category only the heaviest of matches that overlap.
// Allow phrases exist to clear innocent senses (馬鹿にされた is no insult
// from the customer), and an escalation cue in them still counts.
//
// prune skips patterns that some sentence cannot hold (see gates);
// the result is the same without.
func (c *Classifier) find(toks []token, sc *scratch, prune bool) []hit {
	var hits, allowed []hit
	// tried[p.id] == stamp(i) once pattern p was tried at token i: a
	// pattern is indexed under several lookups a token may share.
	tried := sc.tried
	sc.known, sc.sentClasses = c.markClasses(toks, sc.known[:0], sc.sentClasses[:0])
	// A sentence is stamped by its first token: once find reaches it,
	// has[id] == here when the sentence has a token looked up by word id.
	var here int32
	try := func(i int, ids []int32) {
		t := &toks[i]
		for _, id := range ids {
			if tried[id] == sc.stamp(i) {
				continue // already tried under another lookup
			}
			tried[id] = sc.stamp(i)
			g := &c.gates.of[id]
			if g.first >= 0 && !t.classes.has(int(g.first)) && !t.begins.has(int(g.first)) {
				continue // indexed by a reading it shares, but no word of the class
			}
			if prune && !c.gates.viable(g, sc.has, here, &sc.sentClasses[t.sentence]) {
				continue // some word it requires is not in the sentence
			}
			p := c.pats[id]
			var moods []lexicon.Mood // the moods an entry means (辞める: command)
			if p.owner >= 0 {
				moods = c.entries[p.owner].Moods
			}
			end, ok := p.matchFirst(toks, i, moods, &sc.ends)
			if !ok {
				continue
			}
			h := hit{entry: p.owner, pat: p.id, start: i, end: end}
			if p.owner < 0 {
				allowed = append(allowed, h)
				continue
			}
			e := &c.entries[p.owner]
			h.mods, h.weight = contextOf(toks, i, end, e.Weight, e.Category.Harassment(), p.intent,
				slices.Contains(e.Moods, lexicon.MoodNegated) && moodOf(toks, end) == lexicon.MoodNegated)
			hits = append(hits, h)
		}
	}
	lookups := sc.lookups
	defer func() { sc.lookups = lookups[:0] }()
	sc.ends.i = -1
	for i := range toks {
		if i%64 == 0 && sc.ctx != nil && sc.ctx.Err() != nil {
			break // the caller returns ctx's error
		}
		t := &toks[i]
		if i == 0 || t.sentence != toks[i-1].sentence {
			here = sc.stamp(i)
			for j := i; j < len(toks) && toks[j].sentence == t.sentence; j++ {
				for _, id := range c.wordsOf(&toks[j], sc.known[j], sc) {
					sc.has[id] = here
				}
			}
		}
		if kw := sc.known[i]; kw != nil {
			try(i, kw.pats)
		} else {
			// An unknown word, or re-read (返せ as 返す too): the token's own
			// lookups, in the same order.
			lookups = uniqueLookups(lookups[:0], t)
			for _, k := range lookups {
				try(i, c.index[k])
			}
		}
		for _, ck := range c.firstClasses {
			if ck.in(t) {
				try(i, c.index[ck.key])
			}
		}
	}
	kept := hits[:0]
	for _, h := range hits {
		if !c.entries[h.entry].Category.Harassment() {
			kept = append(kept, h) // allow phrases silence harassment only
			continue
		}
		inside := false
		for _, a := range allowed {
			// A match that ends on words an allow phrase clears rests on
			// them: バカにして is no insult, whatever frame it ends.
			if a.start <= h.end-1 && h.end <= a.end {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, h)
		}
	}
	return c.contempt(toks, c.dropOverlaps(kept, len(toks)))
}

// contempt raises a coercive command to contemptWeight when the same
// message insults its reader: a command with an insult (金返せクソが, 早く送れ
// 無能) is the contemptuous, domineering command LABELS counts as
// intimidation, while either alone may be exasperation.
func (c *Classifier) contempt(toks []token, hits []hit) []hit {
	insult := false
	for _, h := range hits {
		if c.entries[h.entry].Category == lexicon.Abuse && len(h.mods) == 0 {
			insult = true
			break
		}
	}
	if !insult {
		return hits
	}
	for i := range hits {
		h := &hits[i]
		if c.entries[h.entry].Category != lexicon.Coercion || len(h.mods) > 0 || h.weight >= contemptWeight {
			continue
		}
		for k := h.start; k < h.end; k++ {
			if wordClasses["command"](&toks[k]) {
				h.weight, h.mods = contemptWeight, []Modifier{Contempt}
				break
			}
		}
	}
	return hits
}

// dropOverlaps keeps, of matches of one category that overlap, the heaviest
// (then the longest, then the first written): one stretch of text counts
// once toward a category. It also drops a second match of one entry at the
// same place (a pattern and its variant). Work is linear in the matched
// tokens, so text that repeats a phrase thousands of times stays fast.
func (c *Classifier) dropOverlaps(hits []hit, ntok int) []hit {
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.weight != b.weight {
			return a.weight > b.weight
		}
		if a.end-a.start != b.end-b.start {
			return a.end-a.start > b.end-b.start
		}
		return a.entry < b.entry
	})
	covered := map[lexicon.Category][]bool{}
	out := hits[:0]
	for _, h := range hits {
		cat := c.entries[h.entry].Category
		cov := covered[cat]
		if cov == nil {
			cov = make([]bool, ntok)
			covered[cat] = cov
		}
		clash := false
		for i := h.start; i < h.end && !clash; i++ {
			clash = cov[i]
		}
		if clash {
			continue
		}
		for i := h.start; i < h.end; i++ {
			cov[i] = true
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].start != out[j].start {
			return out[i].start < out[j].start
		}
		return out[i].entry < out[j].entry
	})
	return out
}

// decide scores hits and reports them in the original text's coordinates.
// Each entry counts once however often it fires; every match is listed.
func (c *Classifier) decide(text string, an *analysis, hits []hit) Result {
	r := Result{LexiconVersion: c.lex.Version, Categories: map[lexicon.Category]float64{}}
	best := map[int]float64{}
	addressed := map[int]float64{} // by entry: what it adds to escalation
	var orig []rune
	if len(hits) > 0 {
		orig = []rune(text)
	}
	for _, h := range hits {
		e := &c.entries[h.entry]
		if h.weight > best[h.entry] {
			best[h.entry] = h.weight
		}
		if slices.Contains(h.mods, Addressed) {
			addressed[h.entry] = max(addressed[h.entry], e.Weight*addressedFactor)
		}
		sp := an.text.origSpan(an.tokens[h.start].start, an.tokens[h.end-1].end)
		r.Matches = append(r.Matches, Match{
			Category: e.Category, Entry: e.Pattern, Text: string(orig[sp.start:sp.end]),
			Start: sp.start, End: sp.end, Weight: round(h.weight), Modifiers: h.mods, Source: e.Pos,
		})
	}
	notH := 1.0
	notC := map[lexicon.Category]float64{}
	add := func(cat lexicon.Category, w float64) {
		if _, ok := notC[cat]; !ok {
			notC[cat] = 1
		}
		notC[cat] *= 1 - w
		if cat.Harassment() {
			notH *= 1 - w
		}
	}
	for entry, w := range best {
		add(c.entries[entry].Category, w)
	}
	for _, w := range addressed {
		add(lexicon.Escalation, w) // rude words said to the customer
	}
	for cat, n := range notC {
		r.Categories[cat] = round(1 - n)
	}
	r.Score = round(1 - notH)
	switch {
	case r.Score >= c.opts.HarassmentThreshold:
		r.Label = Harassment
	case r.Score >= c.opts.EscalateThreshold || r.Categories[lexicon.Escalation] >= c.opts.EscalateThreshold:
		r.Label = Escalate
	default:
		r.Label = Routine
	}
	return r
}

// round keeps scores to 4 decimals so that 0.7499999 does not miss 0.75.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
