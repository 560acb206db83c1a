package classifier

import (
	"fmt"

	"github.com/kasuhara/kasuhara/lexicon"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxGap is how many tokens a … in a pattern may stand for at most; a gap
// also ends where its clause does (see clauseEnd).
const maxGap = 16

// gapMarks are how analysts write a gap; NFKC turns … into "...".
var gapMarks = []string{"…", "..."}

// element is one position of a compiled pattern.
type element struct {
	gap        bool     // a … : up to maxGap tokens of the same sentence
	keys       []string // lemmas any of which the message token must have
	imperative bool     // the message token must be a command
	optional   bool     // a particle the message may leave out
	surface    string   // as written, for messages about the pattern
	// readings are the folded readings of keys: a message token written in
	// kana matches by them (ころす, コロス for 殺す).
	readings []string
	// spelling is the folded reading of the pattern's own surface: a kana
	// message token spelt the same matches in any mood (シネ for 死ね).
	spelling string
	kana     bool // the pattern word is written in kana
	// known is set when the dictionary knows the pattern word as written:
	// a kana word it knows (バカ) is a spelling of a word whose kanji form
	// (馬鹿) reads the same; slang it does not know (ガイジ) has kanji
	// homophones that are other words (孩児).
	known    bool
	function bool // a particle or auxiliary
	// content is set for a word of its own: not a particle, auxiliary,
	// suffix or dependent word (させ, てる, さん).
	content bool
	// caseParticle is set for a case particle (が, を, に, で, ...).
	caseParticle bool
	// aspect is set on a command written with a lasting ending (待ってろ):
	// it matches only commands of that class (see token.aspect).
	aspect bool
	// verb is set for a verb, independent or auxiliary (持って行く).
	verb bool
	// negation is set for a negative auxiliary: ない, ん, ぬ and ねえ are
	// one (知らない, 知らん, 知らねえ).
	negation bool
	noun     bool
	// quotative is set for the quoting と or って, which a closing
	// quotation mark may stand before (see closingQuote).
	quotative bool
	// split is set, for a particle of splitParticles, to the two tokens
	// it may be read as.
	split [2]string
	// class, when set, makes the element match any token of a class
	// instead of a word: see wordClasses. set is the lexicon's class of
	// that name, nil for a builtin one.
	class string
	set   *classSet
}

// wordClasses are the placeholders a pattern may use for any word of a
// kind, written in braces: {number}回…電話してやる, 外人…{command}.
var wordClasses = map[string]func(t *token) bool{
	// number: a numeral, in digits or kanji (3, 百, 一).
	"number": func(t *token) bool { return t.pos == "名詞,数" },
	// many: a numeral of three or more (3, 五, 十, 数): counts past what a
	// reminder or a second try needs, a sign of repetition.
	"many": func(t *token) bool { return t.pos == "名詞,数" && numeralAtLeast(t.surface, 3) },
	// lots: a numeral of ten or more (10, 百, 何百): counts meant to
	// overwhelm.
	"lots": func(t *token) bool { return t.pos == "名詞,数" && numeralAtLeast(t.surface, 10) },
	// adjective: an adjective or an adjectival noun (高い, 早い, 丁寧).
	"adjective": func(t *token) bool {
		return strings.HasPrefix(t.pos, "形容詞,自立") || strings.HasPrefix(t.pos, "名詞,形容動詞語幹")
	},
	// exclaim: an exclamation mark, or question marks doubled (!, ?!, ??):
	// the voice raised.
	"exclaim": func(t *token) bool {
		return strings.HasPrefix(t.pos, "記号") && (strings.Contains(t.surface, "!") || strings.Contains(t.surface, "??"))
	},
	// command: a verb in the command mood (送れ, 来い, しやがれ, 覚えとけ)
	// or a prohibition (逆らうな, 連絡してくるな); never the polite ください,
	// なさい or the request 〜てくれ.
	"command": func(t *token) bool {
		return strings.HasPrefix(t.pos, "動詞") && (t.imperative || t.prohibitive) && !anyIn(politeCommands, t.keys)
	},
}

// numeric reports the classes that match runs of numeral tokens (五|十).
func numeric(class string) bool { return class == "number" || class == "many" || class == "lots" }

// kanjiNumerals are the values of the kanji numerals one token may be.
var kanjiNumerals = map[rune]int{'〇': 0, '零': 0, '一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7,
	'八': 8, '九': 9, '十': 10, '百': 100, '千': 1000, '万': 10000, '億': 100000000, '数': 3, '幾': 3, '何': 3}

// numeralAtLeast reports whether the numeral s, in ASCII digits or kanji,
// is n or more. A run of kanji counts its largest digit (三十 ≥ 10); 数
// (数回, several) and 何 (何回目, the rhetorical how-many) count as three.
func numeralAtLeast(s string, n int) bool {
	v, digits := 0, true
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9' && digits:
			v = v*10 + int(r-'0')
		case r == ',' || r == '.':
			digits = digits && r == ','
		default:
			k, ok := kanjiNumerals[r]
			if !ok {
				return false
			}
			digits = false
			v = max(v, k)
		}
		if v >= n {
			return true
		}
	}
	return v >= n
}

// politeCommands are command forms that ask rather than order.
var politeCommands = []string{"くださる", "下さる", "なさる", "くれる", "いらっしゃる", "ちょうだい"}

var classMarker = regexp.MustCompile(`\{([^{}]*)\}`)

// pattern is a phrase compiled through the analyzer. owner is the index of
// the entry it belongs to, or -1 for an allow phrase.
type pattern struct {
	elems []element
	owner int
	id    int // dense index among the classifier's patterns
	// intent is set when the pattern was written with an intent ending
	// (刺すぞ, 行くからな, 晒してやる), which compile leaves out: any such
	// ending must follow a match (see intensified), so 行くぞ matches 行って
	// やるよ.
	intent bool
	// mood is set when the pattern ends in a word that gives its phrase
	// a mood (添い寝して asks, 子供いるの asks a question): the message's
	// phrase must end there too, or continue only as that mood does
	// (添い寝しても is a concession, 子供がいるのですが a statement).
	mood moodEnd
}

// moodEnd is the mood-bearing ending a pattern closes with.
type moodEnd int

const (
	moodNone     moodEnd = iota
	moodTe               // て, で: a request (消えて, 添い寝して)
	moodQuestion         // the particle の: a question (子供いるの)
)

// requestVerbs continue a て-request in the same mood (消えてください,
// 添い寝してほしい).
var requestVerbs = []string{"くださる", "下さる", "くれる", "ちょうだい", "ほしい", "欲しい", "もらう", "もらえる", "いただく", "いただける", "頂く", "頂ける"}

// cutIntent returns els without an intent ending (ぞ, ぜ, からな, てやる and
// a final よ or な after it), and whether it had one. A pattern that is
// nothing but the ending keeps it.
func cutIntent(els []element) ([]element, bool) {
	n := len(els)
	if n > 0 && els[n-1].function && (els[n-1].surface == "よ" || els[n-1].surface == "な" || els[n-1].surface == "ね") {
		n--
	}
	cut := 0
	switch {
	case n >= 1 && els[n-1].function && (els[n-1].surface == "ぞ" || els[n-1].surface == "ぜ"):
		cut = 1
	case n >= 2 && els[n-2].surface == "から" && (els[n-1].surface == "な" || els[n-1].surface == "ね"):
		cut = 2
	case n >= 2 && teForm(&els[n-2]) && contains(els[n-1].keys, "やる"):
		cut = 2
	}
	if cut == 0 || n-cut < 1 || els[n-cut-1].gap {
		return els, false
	}
	return els[:n-cut], true
}

// endMood reads the mood-bearing ending of els, a pattern's elements.
func endMood(els []element) moodEnd {
	last := &els[len(els)-1]
	gapped := slices.ContainsFunc(els, func(e element) bool { return e.gap })
	switch {
	case !last.function:
		return moodNone
	case teForm(last) && !gapped:
		return moodTe // a frame with a gap (何度…問い合わせて) links clauses
	case last.surface == "の":
		return moodQuestion
	}
	return moodNone
}

// closes reports whether a match of p that ends before toks[end] ends its
// phrase as p's mood needs: the message may go on with content words or
// sentence-final particles, but not with grammar that turns the mood
// (添い寝しても, 残していない, 子供がいるのですが), except the request verbs
// that carry a て-request on (消えてください, 教えていただけ).
func (p *pattern) closes(toks []token, end int) bool {
	if p.mood == moodNone || end >= len(toks) || toks[end].sentence != toks[end-1].sentence {
		return true
	}
	t := &toks[end]
	switch {
	case p.mood == moodQuestion:
		return !t.function || strings.Contains(t.pos, "終助詞")
	case anyIn(requestVerbs, t.keys) || followedBy(toks, end-1, "いただ"):
		return true // 対応してもらえないなら asks, if conditionally; い|ただけ is いただけ
	}
	// て: a concession (しても), a topic (しては), a state (している) or a
	// denied one (残していない) is not the request.
	return t.surface != "も" && t.surface != "は" && !strings.HasPrefix(t.pos, "動詞,非自立") && !negated(toks, end)
}

// compileSuffixes are endings a pattern is also compiled with. kagome may
// read a phrase's last word differently at the end of text than before a
// particle (待ってろ is 待っ|て|ろ alone but 待っ|てろ before よ), so a pattern
// gets one variant per distinct reading.
var compileSuffixes = []string{"", "よ", "。"}

// compile analyses phrase the way messages are analysed, into one pattern
// per distinct reading.
func (a *Analyzer) compile(phrase string, owner int, subs *substitutions, ct classTable) ([]*pattern, error) {
	for _, g := range gapMarks[1:] {
		phrase = strings.ReplaceAll(phrase, g, gapMarks[0])
	}
	for _, m := range classMarker.FindAllStringSubmatch(phrase, -1) {
		if wordClasses[m[1]] == nil && ct[m[1]] == nil {
			return nil, fmt.Errorf("pattern %q has unknown word class {%s}; expect a builtin (%s) or a class the lexicon defines", phrase, m[1], strings.Join(lexicon.BuiltinClasses, ", "))
		}
	}
	seen := map[string]bool{}
	parts := strings.Split(phrase, gapMarks[0])
	var head []element // every part but the last, each followed by a gap
	for _, part := range parts[:len(parts)-1] {
		els, _ := a.elements(part, "", subs, ct)
		head = append(append(head, els...), element{gap: true, surface: gapMarks[0]})
	}
	var out []*pattern
	for i, suffix := range compileSuffixes {
		tail, ok := a.elements(parts[len(parts)-1], suffix, subs, ct)
		if !ok {
			continue
		}
		p := &pattern{owner: owner, elems: append(append([]element(nil), head...), tail...)}
		if err := p.trim(phrase); err != nil {
			if i == 0 {
				return nil, err
			}
			continue
		}
		p.elems, p.intent = cutIntent(p.elems)
		p.mood = endMood(p.elems)
		if sig := p.signature(); !seen[sig] {
			seen[sig] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// elements returns the elements of part: its word classes, and its words
// analysed with suffix after the last of them; ok is false when the suffix
// does not apply (the part ends in a class) or did not stay a token.
func (a *Analyzer) elements(part, suffix string, subs *substitutions, ct classTable) ([]element, bool) {
	var els []element
	at := 0
	var ctx string // a word of the class before the text, to read it after
	for _, m := range classMarker.FindAllStringSubmatchIndex(part, -1) {
		words, _ := a.wordsAfter(ctx, part[at:m[0]], "", subs)
		name := part[m[2]:m[3]]
		els = append(append(els, words...), element{class: name, set: ct[name], surface: part[m[0]:m[1]]})
		at = m[1]
		ctx = ""
		if cs := ct[name]; cs != nil && len(cs.members) > 0 {
			ctx = cs.words[0]
		}
	}
	if at == len(part) && at > 0 {
		return els, suffix == ""
	}
	words, ok := a.wordsAfter(ctx, part[at:], suffix, subs)
	return append(els, words...), ok
}

// wordsAfter is words for text that follows ctx, a word of a class: the
// tokenizer reads a word after a noun differently than at the start of a
// text (そちら|持ち is a suffix, 持ち alone a noun), so text is read after
// ctx and ctx's tokens dropped. When ctx and text do not split where they
// meet, text is read alone.
func (a *Analyzer) wordsAfter(ctx, part, suffix string, subs *substitutions) ([]element, bool) {
	if ctx == "" || part == "" {
		return a.words(part, suffix, subs)
	}
	els, ok := a.words(ctx+part, suffix, subs)
	alone, _ := a.words(ctx, "", subs)
	var b strings.Builder
	for i := range els {
		if i == len(alone) {
			break
		}
		b.WriteString(els[i].surface)
	}
	if !ok || len(els) <= len(alone) || b.String() != ctx && fold(b.String()) != fold(ctx) {
		return a.words(part, suffix, subs)
	}
	return els[len(alone):], true
}

// words analyses text+suffix and returns the elements of text; ok is false
// when the suffix did not stay a token of its own.
func (a *Analyzer) words(part, suffix string, subs *substitutions) ([]element, bool) {
	if part == "" {
		return nil, true
	}
	toks := a.analyze(part+suffix, subs, nil).tokens
	if suffix != "" {
		if len(toks) == 0 || toks[len(toks)-1].surface != suffix {
			return nil, false
		}
		toks = toks[:len(toks)-1]
	}
	var els []element
	for _, t := range toks {
		if t.commandEnd {
			// A command's ending stands for any ending (待ってろ, 待っとけ):
			// the verb keeps its mood, and its bare stem spells nothing.
			if n := len(els); n > 0 {
				els[n-1].spelling = ""
			}
			continue
		}
		if strings.HasPrefix(t.pos, "記号") {
			continue // punctuation in a pattern is decoration
		}
		e := element{keys: t.keys, imperative: t.imperative, aspect: t.aspect, optional: t.particle, surface: t.surface,
			spelling: t.reading, kana: t.kana, known: t.cached, function: t.function, noun: t.noun,
			content:      !t.dependent,
			caseParticle: strings.HasPrefix(t.pos, "助詞,格助詞") && t.surface != "の"}
		e.negation, e.verb = isNegation(&t), strings.HasPrefix(t.pos, "動詞,自立") || strings.HasPrefix(t.pos, "動詞,非自立")
		e.quotative = contains(t.keys, "と") || contains(t.keys, "って")
		for _, k := range t.keys {
			if sp, ok := splitParticles[k]; ok {
				e.split = sp
			}
		}
		for _, k := range t.keys {
			// Short readings are mostly homophones (轢く and 引く are both
			// ひく); a kana word of two letters matches by spelling only.
			if r := a.reading(k); r != "" && r != k && utf8.RuneCountInString(r) >= 3 {
				e.readings = append(e.readings, r)
			}
		}
		if n := len(els); n > 0 && t.surface == "も" && els[n-1].optional {
			// でも, にも: a particle and も make one that adds its
			// meaning (障害でもある is not 障害がある); the message must
			// have both.
			e.optional, els[n-1].optional = false, false
		}
		els = append(els, e)
	}
	return els, true
}

// trim checks the pattern can match, and settles its particles. Particles
// between words are optional both ways (会社潰す ≍ 会社を潰す); a particle at
// either end of the pattern or next to a gap (返事は, 責任者の方から,
// 書き続ける…から) is what the analyst wants to see there, so it is required.
func (p *pattern) trim(phrase string) error {
	words := 0
	for i := range p.elems {
		e := &p.elems[i]
		if e.gap {
			continue
		}
		if !e.optional {
			words++
			continue
		}
		if i == 0 || i == len(p.elems)-1 || p.elems[i-1].gap || p.elems[i+1].gap {
			e.optional = false
		}
	}
	switch {
	case words == 0:
		return fmt.Errorf("pattern %q has no words", phrase)
	case p.elems[0].gap || p.elems[len(p.elems)-1].gap:
		return fmt.Errorf("pattern %q starts or ends with a gap; put … between words", phrase)
	case len(p.elems) == 1 && p.elems[0].kana && utf8.RuneCountInString(p.elems[0].surface) < 2:
		return fmt.Errorf("pattern %q reads as the one-kana word %q, which matches far too much", phrase, p.elems[0].surface)
	}
	for i := 1; i < len(p.elems); i++ {
		if p.elems[i].gap && p.elems[i-1].gap {
			return fmt.Errorf("pattern %q has two gaps in a row", phrase)
		}
	}
	return nil
}

// signature identifies what a pattern matches, to drop duplicate readings.
func (p *pattern) signature() string {
	var b strings.Builder
	for _, e := range p.elems {
		fmt.Fprintf(&b, "%v|%s|%v%v|%v|%s|%s;", e.gap, strings.Join(e.keys, ","), e.imperative, e.aspect, e.optional, e.spelling, e.class)
	}
	fmt.Fprintf(&b, "%d%v", p.mood, p.intent)
	return b.String()
}

// lookups are the strings a pattern whose first word is e is indexed by:
// every string a token e matches shares with it (see tokenLookups).
func (e *element) lookups() []string {
	if e.set != nil {
		return e.set.lookups
	}
	if e.class != "" {
		return []string{classLookup(e.class)}
	}
	l := append(append([]string{}, e.keys...), e.readings...)
	return append(l, e.spelling)
}

// matches reports whether message token t is an instance of e:
//   - by lemma (every conjugation), in the command mood if e is one;
//   - a kana token by the reading of e's lemma (ころして for 殺す);
//   - a kana token spelt as e is written, in any mood (シネ for 死ね);
//   - a noun written in kanji, by its reading, when e is a kana noun
//     (馬鹿 for バカ).
func (e *element) matches(t *token) bool {
	if e.set != nil {
		return e.set.matches(t)
	}
	if e.class != "" {
		return wordClasses[e.class](t)
	}
	mood := !e.imperative || t.imperative && t.aspect == e.aspect
	if e.negation && isNegation(t) {
		return true
	}
	if e.function != t.function {
		// A particle or auxiliary is grammar: it matches a pattern word
		// only by lemma, never by reading (で is not 出).
		return mood && (anyIn(e.keys, t.keys) || anyIn(e.keys, t.plain))
	}
	if e.noun && !t.noun && !strings.HasPrefix(t.pos, "接頭詞") && (e.kana || t.kana) {
		return false // the kana noun カス is not the verb かす (貸す)
	}
	switch {
	case mood && (anyIn(e.keys, t.keys) || anyIn(e.keys, t.plain)):
		return true
	case t.byReading && t.reading == e.spelling:
		return true
	case !t.kana:
		// A kana word the dictionary knows is a spelling of the kanji one
		// that reads the same: バカ of 馬鹿, つける of 付ける (verbs of three
		// letters or more; shorter ones are mostly homophones).
		return mood && e.kana && e.known && (e.noun && t.noun && contains(e.keys, t.reading) ||
			e.verb && utf8.RuneCountInString(t.lemmaReading) >= 3 && contains(e.keys, t.lemmaReading))
	case mood && anyIn(e.readings, t.keys):
		return true
	}
	return e.spelling != "" && t.spelling == e.spelling
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func anyIn(a, b []string) bool {
	for _, x := range a {
		if contains(b, x) {
			return true
		}
	}
	return false
}

// reading returns the folded reading of a lemma as the dictionary reads
// it on its own, or "".
func (a *Analyzer) reading(lemma string) string {
	var b strings.Builder
	for _, k := range a.tok.Tokenize(lemma) {
		r, ok := k.FeatureAt(7)
		if !ok || r == "*" {
			return ""
		}
		b.WriteString(r)
	}
	return fold(b.String())
}

// matchAt reports the end (exclusive token index) of a match of p that
// starts at toks[i], preferring the shortest.
//
// A pattern that is one kana noun (クズ, バカ, ゴミ) does not match as the
// head of a compound: when a common noun or a prefix is glued to it (糸くず,
// 紙くず, 親バカ, 生ゴミ) it means something else. Longer patterns and kanji
// nouns keep matching after a noun (社長土下座しろ, お姉さん何歳).
func (p *pattern) matchAt(toks []token, i int) (int, bool) { return p.matchMoods(toks, i, nil) }

// matchMoods is matchAt for an entry that names its moods: the shortest
// match whose phrase ends in one of them (see moodOf). A match that ends
// where its phrase does not close as the pattern's mood needs, lacks the
// intent ending the pattern requires, or ends in another mood is passed
// over for a longer one: あなたの帰り道…調べれば is conditional, あなたの帰り道
// …調べればすぐ分かる a statement.
func (p *pattern) matchMoods(toks []token, i int, moods []lexicon.Mood) (int, bool) {
	return p.matchFirst(toks, i, moods, nil)
}

// matchFirst is matchMoods with the ends of the class members at toks[i]
// memoised in m, when not nil: many patterns start with one class
// ({staff}, {addressee}), and its members of several words are matched
// once at a token, not once a pattern.
func (p *pattern) matchFirst(toks []token, i int, moods []lexicon.Mood, m *endsMemo) (int, bool) {
	if set := p.elems[0].set; set != nil {
		if m != nil {
			for _, e := range m.at(set, toks, i) {
				if end, ok := p.match(toks, 1, e, toks[i].sentence, false, moods); ok {
					return end, true
				}
			}
			return 0, false
		}
		var end int
		ok := set.each(toks, i, func(e int) bool {
			var ok bool
			end, ok = p.match(toks, 1, e, toks[i].sentence, false, moods)
			return ok
		})
		return end, ok
	}
	if !p.elems[0].matches(&toks[i]) {
		return 0, false
	}
	if len(p.elems) == 1 && p.elems[0].noun && p.elems[0].kana && toks[i].compound {
		return 0, false
	}
	return p.rest(toks, 0, i, moods)
}

// endsMemo holds, for the token find is at, the ends of the members of
// each class tried there (see classSet.ends).
type endsMemo struct {
	i    int
	sets []*classSet
	ends [][]int
}

// at returns the ends of set's members at toks[i].
func (m *endsMemo) at(set *classSet, toks []token, i int) []int {
	if m.i != i {
		m.i, m.sets = i, m.sets[:0]
	}
	for k, s := range m.sets {
		if s == set {
			return m.ends[k]
		}
	}
	k := len(m.sets)
	m.sets = append(m.sets, set)
	if k == len(m.ends) {
		m.ends = append(m.ends, nil)
	}
	m.ends[k] = set.ends(toks, i, m.ends[k][:0])
	return m.ends[k]
}

// ends reports whether a match may end before toks[end]: its phrase
// closes as p's mood needs, it has the intent ending p requires, and its
// mood is one of moods (any when empty).
func (p *pattern) ends(toks []token, end int, moods []lexicon.Mood) bool {
	return p.closes(toks, end) && (!p.intent || intensified(toks, end)) &&
		(len(moods) == 0 || slices.Contains(moods, moodOf(toks, end)))
}

// rest matches the elements after elems[pe], which matched at token i:
// one token, or for {number} one or more numeral tokens (五十 is 五|十 to
// the tokenizer), the fewest that let the rest match (30|万|円).
func (p *pattern) rest(toks []token, pe, i int, moods []lexicon.Mood) (int, bool) {
	sentence := toks[i].sentence
	for j := i + 1; ; j++ {
		if end, ok := p.match(toks, pe+1, j, sentence, false, moods); ok {
			return end, true
		}
		if !numeric(p.elems[pe].class) || j >= len(toks) || toks[j].sentence != sentence || toks[j].pos != "名詞,数" {
			return 0, false
		}
	}
}

// compoundModifier reports whether prev forms a compound noun with t:
// adjacent, and a common noun or a noun prefix.
func compoundModifier(prev, t *token) bool {
	return prev.end == t.start && (prev.pos == "名詞,一般" || prev.pos == "接頭詞,名詞接続") && !prev.quoted == !t.quoted
}

// match matches elems[pe:] from token j. skipped is set when the pattern
// particle before pe was left out: the message may not then put another
// particle in its place (that is substitutes' to allow).
func (p *pattern) match(toks []token, pe, j, sentence int, skipped bool, moods []lexicon.Mood) (int, bool) {
	if pe == len(p.elems) {
		return j, p.ends(toks, j, moods)
	}
	e := &p.elems[pe]
	for !e.gap && j < len(toks) && toks[j].commandEnd {
		j++ // the ending of a command the pattern ends before (見|てろ|よ for 見てろよ)
	}
	if e.quotative && j < len(toks) && closingQuote(&toks[j]) {
		j++ // 「返品不可」って: a quotation closes before its quotative particle
	}
	at := func(k int) bool { return k < len(toks) && toks[k].sentence == sentence && e.matches(&toks[k]) }
	if e.set != nil && len(e.set.multi) > 0 {
		// A class with members of several words: each member that matches
		// here, then the rest of the pattern after it.
		var end int
		ok := j < len(toks) && toks[j].sentence == sentence && e.set.each(toks, j, func(k int) bool {
			if toks[k-1].sentence != sentence {
				return false
			}
			var ok bool
			end, ok = p.match(toks, pe+1, k, sentence, false, moods)
			return ok
		})
		if ok {
			return end, true
		}
	}
	switch {
	case e.gap:
		for k := j; k <= j+maxGap && k < len(toks) && toks[k].sentence == sentence; k++ {
			if end, ok := p.match(toks, pe+1, k, sentence, false, moods); ok {
				return end, true
			}
			if clauseEnd(&toks[k]) {
				return 0, false
			}
		}
		return 0, false
	case e.optional:
		if at(j) {
			if end, ok := p.match(toks, pe+1, j+1, sentence, false, moods); ok {
				return end, true
			}
		}
		if j < len(toks) && toks[j].particle {
			if !substitutes(&toks[j], e) {
				// The message has another particle where the pattern
				// has this one: 食事はどう is not 食事でもどう.
				return 0, false
			}
			return p.match(toks, pe+1, j+1, sentence, true, moods) // 会社は潰す for 会社を潰す
		}
		return p.match(toks, pe+1, j, sentence, true, moods)
	case at(j):
		return p.rest(toks, pe, j, moods)
	case e.verb && pe > 0 && !skipped && (teForm(&p.elems[pe-1]) || p.elems[pe-1].caseParticle):
		// Before a verb, after a て-form or an argument the pattern marks,
		// the message may name where, what or how (包丁持ってそっちの事務所に
		// 行く for 包丁持って行く, レビューに今回のことを正直に書く for
		// レビューに書く): nouns with their particles, no adverb, no predicate;
		// never after the pattern's particle was left out or replaced.
		// An adjunct is never the verb, so the verb can only be the first
		// word after the run of them.
		k := j
		for k < j+maxAdjunct && k < len(toks) && toks[k].sentence == sentence && adjunct(&toks[k]) {
			k++
		}
		if k > j && at(k) {
			return p.rest(toks, pe, k, moods)
		}
	case e.split[0] != "" && j+1 < len(toks) && splitAt(e, &toks[j], &toks[j+1]):
		// のに and ので, which the tokenizer may read as の|に, の|で.
		return p.rest(toks, pe, j+1, moods)
	case j < len(toks) && toks[j].honorific && at(j+1):
		// A phrase takes honorifics the pattern leaves out: 文書でご説明
		// for 文書で説明, 担当者さんに for 担当者に.
		return p.rest(toks, pe, j+1, moods)
	case j < len(toks) && toks[j].particle && at(j+1) && !skipped && contains(insertable, toks[j].surface):
		// The message put in a particle the pattern left out.
		return p.rest(toks, pe, j+1, moods)
	case pe == len(p.elems)-1 && p.dropsLast() && j < len(toks) && toks[j].sentence == sentence &&
		toks[j].pos == "動詞,自立" && toks[j-1].end == toks[j].start:
		// Speech drops the case particle between a noun and its verb
		// (消費者センター行く, 弁護士立てる): a pattern that ends on one
		// (消費者センターに) is met by the verb right after the noun. The
		// match ends on the noun.
		return j, p.ends(toks, j, moods)
	}
	return 0, false
}

// droppable are the case particles speech leaves out before a verb.
var droppable = []string{"に", "へ", "を", "が"}

// dropsLast reports whether p ends on a case particle speech may leave
// out, after a noun (消費者センターに): a message may have the verb there
// instead (see match).
func (p *pattern) dropsLast() bool {
	n := len(p.elems)
	if n < 2 {
		return false
	}
	e, before := &p.elems[n-1], &p.elems[n-2]
	return e.caseParticle && contains(droppable, e.surface) && before.noun && before.content
}

// closingQuote reports a closing quotation mark.
func closingQuote(t *token) bool {
	return strings.HasPrefix(t.pos, "記号") && strings.ContainsAny(t.surface, "」』”〉》")
}

// splitParticles are conjunctive particles the tokenizer reads as two
// tokens before some words (言われたのに届かない: た|の|に).
var splitParticles = map[string][2]string{"のに": {"の", "に"}, "ので": {"の", "で"}}

// splitAt reports whether t and next, adjacent, spell e, one of
// splitParticles, as two tokens.
func splitAt(e *element, t, next *token) bool {
	return t.surface == e.split[0] && next.surface == e.split[1] && t.end == next.start
}

// teForm reports the conjunctive て or で of a verb's て-form.
func teForm(e *element) bool {
	return e.function && !e.caseParticle && (e.surface == "て" || e.surface == "で")
}

// honorificSuffixes are the suffixes for a person a phrase may add (see
// lexical.honorific).
var honorificSuffixes = []string{"さん", "様", "さま", "ちゃん", "くん", "君", "殿"}

// maxAdjunct is how many tokens an inserted adjunct may have.
const maxAdjunct = 10

// adjunct reports a token that may stand in a phrase naming where, what or
// how: a noun (正直 of 正直に too), a prefix, an adnominal, a case particle.
// Adverbs change what the verb says (よく分からない), so they are no
// adjuncts.
func adjunct(t *token) bool {
	switch {
	case t.noun, strings.HasPrefix(t.pos, "接頭詞"), strings.HasPrefix(t.pos, "連体詞"):
		return true // not an adverb: よく分からない is not 分からない
	}
	return strings.HasPrefix(t.pos, "助詞,格助詞") || t.pos == "助詞,連体化" || t.pos == "助詞,副詞化"
}

// clauseEnd reports a particle that closes a clause and opens another
// that stands on its own (〜けど, 〜が, 〜のに, 〜し): a gap does not reach
// across it. Conditions (〜ば, 〜たら) and causes stay in the clause they
// lead to.
func clauseEnd(t *token) bool {
	return t.pos == "助詞,接続助詞" && contains(adversatives, t.surface)
}

var adversatives = []string{"けど", "けれど", "けれども", "が", "のに", "ものの", "し"}

// insertable are the particles a message may put between pattern words
// that have none: the ones that only mark the subject, the object or the
// topic, or a place or means (会社潰す ≍ 会社を潰す, 景品表示法違反 ≍ 景品表示法に
// 違反). と, や and の join two nouns into something else (お風呂と一緒に is
// not お風呂一緒に).
var insertable = []string{"が", "を", "は", "も", "って", "に", "で", "へ"}

// substitutes reports whether message particle t may stand where the
// pattern has particle e. Case particles stand for each other (記録を残す,
// 記録に残す), but の only for が, in a clause that describes a noun
// (知恵の足りない); は and も stand for が and を when the noun is the topic
// (会社は潰してやる). A binding particle in the pattern (でも, は) is its
// meaning: 食事はどう is not 食事でもどう, 障害のある not 障害でもある.
func substitutes(t *token, e *element) bool {
	ga, wo := contains(e.keys, "が"), contains(e.keys, "を")
	switch {
	case t.hasKey("は") || t.hasKey("も"):
		return ga || wo
	case t.hasKey("の"):
		return ga
	}
	return strings.HasPrefix(t.pos, "助詞,格助詞") && e.caseParticle
}

// classLookup is the index key of patterns that start with a word class.
func classLookup(class string) string { return "{" + class + "}" }

// classKey is a word class with its index key.
type classKey struct {
	key string
	in  func(t *token) bool
}

// classKeys are the word classes, in a fixed order.
var classKeys = func() []classKey {
	var l []classKey
	for _, name := range slices.Sorted(maps.Keys(wordClasses)) {
		l = append(l, classKey{classLookup(name), wordClasses[name]})
	}
	return l
}()
