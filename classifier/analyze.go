package classifier

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
)

// Analyzer normalises and tokenises text. It wraps one kagome tokenizer with
// the IPA dictionary and is safe for concurrent use; share one across
// classifiers (a reload builds a new Classifier around the same Analyzer).
type Analyzer struct {
	tok *tokenizer.Tokenizer
	// words caches isWord: katakana runs before okurigana are few and
	// recur, and each answer costs a tokenization.
	wordCache sync.Map // string → bool
	// lexicals caches lexical by dictionary entry ID: each entry is read
	// once, and reading the cache takes no lock.
	lexicals []atomic.Pointer[lexical]
}

// NewAnalyzer loads the IPA dictionary and builds a tokenizer.
func NewAnalyzer() (*Analyzer, error) {
	d := ipa.Dict()
	t, err := tokenizer.New(d, tokenizer.OmitBosEos())
	if err != nil {
		return nil, err
	}
	return &Analyzer{tok: t, lexicals: make([]atomic.Pointer[lexical], len(d.Contents))}, nil
}

// isWord reports whether s is one word the dictionary knows.
func (a *Analyzer) isWord(s string) bool {
	if v, ok := a.wordCache.Load(s); ok {
		return v.(bool)
	}
	toks := a.tok.Tokenize(s)
	known := len(toks) == 1 && toks[0].Class == tokenizer.KNOWN
	a.wordCache.Store(s, known) // runs are at most three letters: the cache stays bounded
	return known
}

// keigoVerbs are humble and honorific verbs with the plain verbs they
// stand for, so that a pattern written plainly (電話します, 行く) also
// matches keigo (お電話いたします, 伺います).
var keigoVerbs = map[string][]string{
	"いたす": {"する"}, "致す": {"する"}, "なさる": {"する"}, "される": {"する"},
	"伺う": {"行く", "聞く"}, "うかがう": {"行く", "聞く"}, "参る": {"行く", "来る"}, "まいる": {"行く", "来る"},
	"申す": {"言う"}, "申し上げる": {"言う"}, "おっしゃる": {"言う"}, "いらっしゃる": {"行く", "来る", "いる"},
	"存じる": {"知る", "思う"}, "存ずる": {"知る", "思う"}, "拝見": {"見る"},
}

// isVerb reports whether lemma is a verb the dictionary knows in that
// form: 返す and 死ぬ are, the なづ that なで would give is not.
func (a *Analyzer) isVerb(lemma string) bool {
	key := "verb:" + lemma
	if v, ok := a.wordCache.Load(key); ok {
		return v.(bool)
	}
	toks := a.tok.Tokenize(lemma)
	verb := false
	if len(toks) == 1 && toks[0].Class == tokenizer.KNOWN {
		pos, _ := toks[0].FeatureAt(0)
		base, _ := toks[0].FeatureAt(6)
		verb = pos == "動詞" && fold(base) == lemma
	}
	a.wordCache.Store(key, verb)
	return verb
}

// token is one morpheme of normalised text, with what matching needs. What
// its dictionary entry says is shared with every token of that entry.
type token struct {
	*lexical
	surface string
	// keys are the folded lemmas the token can be read as: its base form,
	// plus a re-reading where kagome's IPA analysis is known to be ambiguous.
	keys []string
	// imperative is set when the token is a verb in the command mood.
	imperative bool
	// prohibitive is set on a verb in its plain form followed by the
	// sentence-final な of prohibition (逆らうな, 連絡してくるな).
	prohibitive bool
	// commandEnd is set on the tokens that end a command (て|しまえ, とけ):
	// a pattern leaves them out, so that any ending of its class matches.
	commandEnd bool
	// aspect is set on a command whose ending asks for a lasting state
	// (待ってろ, 待っとけ, 覚えておけ): one class of its own, apart from
	// the bare command and the completive (覚えろ, 消えてしまえ).
	aspect bool
	quoted bool // inside 「」, 『』, “” or "" that close
	// compound is set when the token is glued to a common noun or a noun
	// prefix before it (糸|くず, 親|バカ): a one-word kana noun there is
	// the head of another word.
	compound bool
	// modifier is set when a noun glued after the token makes it the
	// first half of a compound (胸|ポケット, 豚|肉): a class's noun there is
	// not the thing it names.
	modifier bool
	// classes has bit b set when the token is a one-word member of the
	// class whose bit is b; classed says it was computed (see
	// Classifier.markClasses).
	classes classBits
	classed bool
	// begins has the bits of the classes whose many-word members the
	// token may begin.
	begins classBits
	// prefixed is set when a prefix other than an honorific is glued
	// before the token (未|開封, 非|常識): the two are another word.
	prefixed bool
	start    int // rune offsets in the normalised text
	end      int
	sentence int // index of the sentence the token belongs to
}

// hasKey reports whether any of t's keys is k.
func (t *token) hasKey(k string) bool {
	for _, x := range t.keys {
		if x == k {
			return true
		}
	}
	return false
}

// buffers are what one analysis may reuse from the last.
type buffers struct {
	tokens []token
	norm   normBufs
}

// analysis is normalised text, its sentences and its tokens.
type analysis struct {
	text *normText
	// sents are the sentences of text: each ends after a run of sentence
	// ends (。!?, newlines). Patterns and their context never cross one.
	sents  []span
	tokens []token
}

// analyze normalises s (with the lexicon's substitutions), splits it into
// sentences and tokenises each on its own: a sentence reads the same
// whatever surrounds it. A token's sentence is its index in an.sents.
//
// With buf, tokens and the normalised text reuse its memory.
func (a *Analyzer) analyze(s string, subs *substitutions, buf *buffers) *analysis {
	var toks []token
	var norm *normBufs
	if buf != nil {
		toks, norm = buf.tokens[:0], &buf.norm
	}
	nt := normalize(s, subs, a.isWord, norm)
	an := &analysis{text: nt, sents: sentences(nt.runes)}
	q := quoting{unclosed: unclosedQuotes(nt.runes)}
	var forms *forms
	if subs != nil {
		forms = subs.forms
	}
	for si, sent := range an.sents {
		// An unknown word that begins or ends with a word of the lexicon
		// (ぴよぴよもぐらです, シネカス) is that word and the rest.
		from := len(toks)
		toks = a.tokenizeSentence(toks, an.text, sent, si, &q, forms)
		toks = a.joinSplit(toks, from, forms)
	}
	a.reread(toks, forms)
	ownWords(toks)
	for i := 1; i < len(toks); i++ {
		toks[i].compound = compoundModifier(&toks[i-1], &toks[i])
		toks[i].prefixed = strings.HasPrefix(toks[i-1].pos, "接頭詞") && !toks[i-1].honorific && toks[i-1].end == toks[i].start
		toks[i-1].modifier = compoundHead(toks[i-1].pos) && toks[i].noun && toks[i-1].end == toks[i].start &&
			toks[i-1].quoted == toks[i].quoted && compoundHead(toks[i].pos)
	}
	an.tokens = toks
	return an
}

// tokenizeSentence appends the tokens of sentence sent (index si) of t,
// chunk by chunk (see chunks). A chunk whose unknown words f cuts (see
// forms.cutUnknown) is tokenised again, in the pieces the cuts make.
func (a *Analyzer) tokenizeSentence(toks []token, t *normText, sent span, si int, q *quoting, f *forms) []token {
	var chs [8]span
	for _, ch := range chunks(chs[:0], t.runes, t.brk, sent) {
		from, q0 := len(toks), *q
		toks = a.tokenizeChunk(toks, t.runes, ch, si, q)
		if f.cutUnknown(t, toks[from:]) {
			toks, *q = toks[:from], q0
			var pieces [8]span
			for _, p := range chunks(pieces[:0], t.runes, t.brk, ch) {
				toks = a.tokenizeChunk(toks, t.runes, p, si, q)
			}
		}
	}
	return toks
}

// tokenizeChunk appends the tokens of rs[ch.start:ch.end].
func (a *Analyzer) tokenizeChunk(toks []token, rs []rune, ch span, si int, q *quoting) []token {
	for _, k := range a.tok.Tokenize(string(rs[ch.start:ch.end])) {
		if k.Class == tokenizer.DUMMY || k.Surface == "" || blank(k.Surface) && !strings.Contains(k.Surface, "\n") {
			continue // spaces between English words are no words
		}
		start, end := ch.start+k.Start, ch.start+k.End
		quoted := q.upTo(rs, end)
		if isEmojiRun(k.Surface) {
			toks = appendEmoji(toks, k.Surface, start, si, quoted)
			continue
		}
		l := a.lexicalOf(k)
		toks = append(toks, token{lexical: l, surface: k.Surface, keys: l.keys, imperative: l.imperative,
			start: start, end: end, sentence: si, quoted: quoted})
	}
	return toks
}

// quoting reads text for quotation marks: 「」, 『』, “” and the like
// nest; ASCII double quotes pair up.
//
// A mark that never closes opens no quotation: 「この野郎、殺してやる with no
// 」 is the writer's own outburst, not words reported.
type quoting struct {
	depth int
	ascii bool // inside an ASCII "..." pair
	pos   int  // runes read
	// unclosed are the offsets of opening marks that never close, in
	// order (see unclosedQuotes).
	unclosed []int
}

// compoundHead reports a part of speech that heads a compound when glued
// after a noun: a common noun or a verbal noun, not a suffix or a number.
func compoundHead(pos string) bool {
	return strings.HasPrefix(pos, "名詞,一般") || strings.HasPrefix(pos, "名詞,サ変接続")
}

// ownWords clears quoted on every token when nothing but punctuation is
// outside the quotation marks: a message that is one quotation (「黙れ」)
// reports no one; it is the writer's own words set off.
func ownWords(toks []token) {
	for i := range toks {
		if !toks[i].quoted && !strings.HasPrefix(toks[i].pos, "記号") {
			return
		}
	}
	for i := range toks {
		toks[i].quoted = false
	}
}

// unclosedQuotes returns the offsets of the opening marks in rs that no
// closing mark pairs with, and of a last ASCII " left without a partner.
func unclosedQuotes(rs []rune) []int {
	var open, out []int
	ascii := -1
	for i, r := range rs {
		switch r {
		case '「', '『', '“', '《', '〈', '【':
			open = append(open, i)
		case '」', '』', '”', '》', '〉', '】':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case '"':
			if ascii < 0 {
				ascii = i
			} else {
				ascii = -1
			}
		}
	}
	out = append(out, open...)
	if ascii >= 0 {
		out = append(out, ascii)
		slices.Sort(out)
	}
	return out
}

// upTo reads the runes before end and reports whether the text there is
// inside quotation marks: a token is quoted when it is inside them after
// its last rune, so an opening mark is quoted and a closing one is not.
func (q *quoting) upTo(rs []rune, end int) bool {
	for ; q.pos < end; q.pos++ {
		if len(q.unclosed) > 0 && q.unclosed[0] == q.pos {
			q.unclosed = q.unclosed[1:]
			continue
		}
		switch rs[q.pos] {
		case '「', '『', '“', '《', '〈', '【':
			q.depth++
		case '」', '』', '”', '》', '〉', '】':
			if q.depth > 0 {
				q.depth--
			}
		case '"':
			q.ascii = !q.ascii
		}
	}
	return q.depth > 0 || q.ascii
}

// lexical is what a token's dictionary entry and surface say about it: the
// same every time the entry is read, so known entries are read once and
// cached by ID. It is shared: never change one in place.
type lexical struct {
	pos  string // part of speech with subclasses, comma-joined
	form string // conjugation form (活用形), "*" when none
	// reading is the folded reading of the surface (カタカナ → ひらがな).
	reading string
	// spelling is the folded surface.
	spelling string
	keys     []string
	// plain are the plain verbs a keigo verb stands for (いたす: する). A
	// message token matches a pattern word by them; pattern words keep
	// their own sense (参るまで is "until you give in").
	plain      []string
	imperative bool
	// particle is set for case and binding particles (を, が, は, ...), which
	// patterns may leave out or put in.
	particle bool
	// function is set for particles and auxiliaries: words that carry
	// grammar, never a content word's meaning, so they match only by lemma
	// (the particle で is not 出 of 出待ち, read aloud).
	function bool
	noun     bool
	// kana is set when the surface is all kana: such a token may be a word
	// written phonetically (ころす, コロス) and also matches by reading.
	kana bool
	// dependent is set for a word that cannot stand alone: a particle, an
	// auxiliary, a suffix or a dependent word (て, れる, さん, てる).
	dependent bool
	// honorific is set for an honorific prefix (お, ご, 御) or a suffix for
	// a person (さん, 様, ちゃん, くん).
	honorific bool
	// byReading is set on a word joinSplit made from tokens cut too
	// finely: it matches a pattern word that reads as it does (無脳 for
	// 無能).
	byReading bool
	// lemmaReading is how a verb written in kanji reads in its
	// dictionary form (付け: つける), for patterns that spell it in kana.
	lemmaReading string
	// godan is set for a verb of the 五段 conjugation, whose hypothetical
	// stem (帰れ of 帰れば) is spelt as its imperative.
	godan bool
	// cached is set on a known word's description, which the Analyzer
	// keeps: a classifier may then remember the patterns it may start.
	cached bool
	id     int // the dictionary entry's, when cached
}

// lexicalOf describes k, from the cache for dictionary words.
func (a *Analyzer) lexicalOf(k tokenizer.Token) *lexical {
	known := k.Class == tokenizer.KNOWN && k.ID >= 0 && k.ID < len(a.lexicals)
	if known {
		if l := a.lexicals[k.ID].Load(); l != nil {
			return l
		}
	}
	l := readLexical(k)
	if rest, ok := honorificNoun(l, k.Surface); known && ok && a.isWord(rest) {
		// お気, ご主人: a noun the dictionary knows with its honorific
		// prefix is also the noun without it (夜道にお気を付けください
		// for 夜道に気を付けろ). Known words only: their description is
		// cached, so the lookup runs once a word, and isWord's cache stays
		// bounded whatever unknown words messages hold.
		l.keys = append(l.keys, fold(rest))
	}
	if known {
		l.cached, l.id = true, k.ID
		a.lexicals[k.ID].Store(l)
	}
	return l
}

// honorificNoun returns a common noun's surface without the honorific
// prefix it begins with before a kanji (お気 → 気), if it has one.
func honorificNoun(l *lexical, surface string) (string, bool) {
	if l.pos != "名詞,一般" && l.pos != "名詞,サ変接続" {
		return "", false
	}
	for _, p := range []string{"お", "ご", "御"} {
		// Only before kanji: おば, おなか, おかず are words, not お|ば.
		if rest, ok := strings.CutPrefix(surface, p); ok && rest != "" && isKanji([]rune(rest)[0]) {
			return rest, true
		}
	}
	return "", false
}

// lemmaReading returns how a verb's lemma reads, from its surface as
// written in the message and the surface's reading: the reading of the
// part the two share, then the lemma's own kana (付け, つけ → つける; 付か,
// つか → つく). It is "" where the surface has no kanji or the parts that
// differ are not kana.
func lemmaReading(surface, base, reading string) string {
	sr, br, rr := []rune(surface), []rune(base), []rune(reading)
	n := 0
	for n < len(sr) && n < len(br) && sr[n] == br[n] {
		n++
	}
	kana := func(rs []rune) bool { return len(rs) == 0 || allKana(string(rs)) }
	if n == 0 || allKana(string(sr[:n])) || !kana(sr[n:]) || !kana(br[n:]) || len(rr) < len(sr)-n {
		return ""
	}
	return string(rr[:len(rr)-(len(sr)-n)]) + fold(string(br[n:]))
}

func readLexical(k tokenizer.Token) *lexical {
	f := featureOf(k)
	l := &lexical{pos: feature(f, 0) + "," + feature(f, 1), form: feature(f, 5)}
	if symbolic(k.Surface) {
		l.pos = "記号,一般" // IPA reads unknown ASCII punctuation (!, ?) as nouns
	}
	// The surface is a slice of the message's text: a cached description
	// must not keep that text alive.
	surface := strings.Clone(k.Surface)
	base := feature(f, 6)
	if base == "*" || base == "" {
		base = surface
	}
	l.keys = []string{fold(base)}
	verb := feature(f, 0) == "動詞"
	if verb {
		l.plain = keigoVerbs[l.keys[0]] // お電話いたします is 電話します
	}
	l.imperative = verb && strings.HasPrefix(l.form, "命令")
	l.godan = verb && strings.HasPrefix(feature(f, 4), "五段")
	l.particle = feature(f, 0) == "助詞" && (feature(f, 1) == "格助詞" || feature(f, 1) == "係助詞")
	l.function = feature(f, 0) == "助詞" || feature(f, 0) == "助動詞"
	l.noun = feature(f, 0) == "名詞" && l.pos != "記号,一般" // ? read as a noun is punctuation
	l.dependent = l.function || strings.Contains(l.pos, "非自立") || strings.Contains(l.pos, "接尾")
	l.honorific = strings.HasPrefix(l.pos, "接頭詞") && (surface == "お" || surface == "ご" || surface == "御") ||
		strings.HasPrefix(l.pos, "名詞,接尾") && contains(honorificSuffixes, surface)
	l.kana = allKana(surface)
	l.spelling = fold(surface)
	l.reading = l.spelling
	if r := feature(f, 7); r != "*" {
		l.reading = fold(r)
	}
	if verb && l.reading != l.spelling {
		l.lemmaReading = lemmaReading(surface, base, l.reading)
	}
	return l
}

// blank reports whether s is white space only.
func blank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// isEmoji reports pictographs customers use as words (🔪, 💩, 🖕), and
// the joiners and selectors that shape them.
func isEmoji(r rune) bool {
	return r >= 0x1F000 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF || r == 0xFE0F || r == 0x200D
}

func isEmojiRun(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !isEmoji(r) })
}

// appendEmoji adds one token per pictograph of s, which starts at rune
// offset start: kagome groups a run of symbols into one unknown word, but
// each pictograph means something of its own (🔪🏠🔥).
func appendEmoji(toks []token, s string, start, sentence int, quoted bool) []token {
	for _, r := range s {
		if r != 0xFE0F && r != 0x200D {
			e := string(r)
			l := &lexical{keys: []string{e}, reading: e, spelling: e, pos: "絵文字,*", form: "*"}
			toks = append(toks, token{lexical: l, surface: e, keys: l.keys,
				start: start, end: start + 1, sentence: sentence, quoted: quoted})
		}
		start++
	}
	return toks
}

// Chunking bounds the tokenizer's work. A lattice tokenizer slows sharply
// on long runs without a natural break, above all of one character class
// (its unknown-word handling considers every length), so a long sentence
// is cut into chunks tokenised one by one: at a character-class change once
// a chunk holds chunkTarget runes, at chunkMax runes, and within one run of
// a class every runLimit runes. No real word is that long.
const (
	chunkTarget = 256
	chunkMax    = 512
	runLimit    = 64
)

// sentences splits rs after every run of sentence ends.
func sentences(rs []rune) []span {
	var out []span
	start := 0
	for i, r := range rs {
		if isSentenceEnd(r) && (i+1 == len(rs) || !isSentenceEnd(rs[i+1])) {
			out = append(out, span{start, i + 1})
			start = i + 1
		}
	}
	if start < len(rs) {
		out = append(out, span{start, len(rs)})
	}
	return out
}

// chunks appends to out the half-open rune ranges of sentence sent to
// tokenise separately.
func chunks(out []span, rs []rune, brk []bool, sent span) []span {
	start, run := sent.start, 0
	lastClass, lastChange := -1, -1 // lastChange: index where the current run began
	for i := sent.start; i < sent.end; i++ {
		c := charClass(rs[i])
		if c != lastClass {
			lastClass, lastChange, run = c, i, 0
		}
		run++
		n := i - start // runes in the chunk before rs[i]
		cut := -1
		switch {
		case run > runLimit:
			cut = i // a run too long to be a word
			run = 1
		case n >= chunkMax, brk[i]:
			cut = i
		case n >= chunkTarget && lastChange == i && i > start:
			cut = i // a class change in a long chunk
		}
		if cut > start {
			out = append(out, span{start, cut})
			start = cut
		}
	}
	if start < sent.end {
		out = append(out, span{start, sent.end})
	}
	return out
}

// charClass groups runes the way the tokenizer's unknown-word handling does.
func charClass(r rune) int {
	switch {
	case isHiragana(r):
		return 1
	case isKatakana(r):
		return 2
	case isKanji(r):
		return 3
	case unicode.IsLetter(r):
		return 4
	case unicode.IsDigit(r):
		return 5
	case unicode.IsSpace(r):
		return 6
	}
	return 7
}

// reread fixes the kinds of analysis the IPA dictionary gets wrong for
// commands, so that imperatives are recognised however they are spelt:
//
//   - A godan imperative read as the stem of a potential verb: 返せ → 返せる
//     (連用形), 死ね → 死ねる, 送れや → 送れる. Such a token, ending its phrase,
//     is also read as the imperative of the godan verb (返す, 死ぬ, 送る).
//   - 〜やがれ split as 連用形 + や + がれ (来やがれ, 返金しやがれ): the verb is
//     imperative.
//   - A godan verb read as its hypothetical stem with no ば after it
//     (国帰れって): the imperative, spelt the same.
//   - た before ない (見たない): the western dialect's たくない.
//   - 出すなって read as 出す|なっ|て: the prohibition and って.
func (a *Analyzer) reread(toks []token, f *forms) {
	for i := range toks {
		t := &toks[i]
		if v := f.truncated(toks, i); v != "" && !t.hasKey(v) {
			t.keys = append(slices.Clip(t.keys), v) // ぶっ殺: 殺す broken off
			continue
		}
		if t.imperative && (i+1 < len(toks) && toks[i+1].sentence == t.sentence && continuesVerb(&toks[i+1]) || concedes(toks, i)) {
			t.imperative = false // 襲え|て|いただけ is 教えて mistyped, せい|ろ a steamer
			continue
		}
		if strings.HasPrefix(t.pos, "動詞") && t.form == "基本形" && i+1 < len(toks) &&
			toks[i+1].surface == "な" && toks[i+1].pos == "助詞,終助詞" && endsPhrase(toks, i+1) &&
			(followedBy(toks, i+1, "よ") || !anyIn(unwilledVerbs, t.keys) && !exclaims(toks, i)) {
			t.prohibitive = true // 逆らうな, 連絡してくるな
			continue
		}
		if strings.HasPrefix(t.pos, "動詞") && t.form == "基本形" && i+2 < len(toks) && toks[i+1].surface == "なっ" &&
			toks[i+1].hasKey("なる") && toks[i+2].surface == "て" && toks[i+1].start == t.end {
			// 出すなって read as 出す|なっ|て: no verb's plain form takes なる;
			// it is the prohibition 出すな and the quoting って.
			t.prohibitive = true
			continue
		}
		if t.surface == "た" && strings.HasPrefix(t.pos, "助動詞") && i > 0 && strings.HasPrefix(toks[i-1].pos, "動詞") &&
			i+1 < len(toks) && toks[i+1].start == t.end && toks[i+1].hasKey("ない") && !t.hasKey("たい") {
			// 見たない, 行きたない: the western たくない, not a past tense.
			t.keys = append(slices.Clip(t.keys), "たい")
			continue
		}
		if n := commandEnding(toks, i); n > 0 {
			// 消えてしまえ, 消えちまえ, 待っとけ, 待ってろ: one command; the
			// ending is marked so that patterns leave it out and every
			// ending matches every other of its class (see lastingEnding).
			t.imperative, t.aspect = true, lastingEnding(toks, i, n)
			for k := i + 1; k <= i+n; k++ {
				toks[k].commandEnd = true
			}
			continue
		}
		if t.pos == "動詞,自立" && t.form == "未然ウ接続" && strings.HasSuffix(t.surface, "よ") && !followedBy(toks, i, "う") {
			// 死ねよ read as the volitional of 死ねる: the command 死ね and よ.
			if godan, ok := potentialToGodan(t.keys[0]); ok && a.isVerb(godan) {
				t.keys = append(slices.Clip(t.keys), godan)
				t.imperative = true
			}
			continue
		}
		if t.pos == "動詞,自立" && t.form == "仮定形" && t.godan && !followedBy(toks, i, "ば") &&
			!followedBy(toks, i, "ど") && !followedBy(toks, i, "ども") && !beforeComma(toks, i) &&
			(endsPhrase(toks, i) || followsCommand(toks, i, f)) {
			// A godan verb's hypothetical stem needs ば after it; without
			// it the same spelling is the imperative (国帰れって, 返せって).
			t.imperative = true
			continue
		}
		if !strings.HasPrefix(t.pos, "動詞") || t.form != "連用形" {
			continue
		}
		if followedBy(toks, i, "やがれ") {
			t.imperative = true
			continue
		}
		// Only an independent verb: 〜てくれ is the auxiliary くれる, never 来る.
		if godan, ok := potentialToGodan(t.keys[0]); ok && t.pos == "動詞,自立" && !beforeComma(toks, i) &&
			(endsPhrase(toks, i) || followsCommand(toks, i, f)) && a.isVerb(godan) {
			t.keys = append(slices.Clip(t.keys), godan) // keys are shared: copy

			t.imperative = true
		}
	}
}

// unwilledVerbs happen to people rather than being done: nobody is told
// not to do them, so な after them exclaims (憧れるな, 困るな, 迷うな).
var unwilledVerbs = []string{"ある", "いる", "できる", "なる", "思う", "考える", "感じる", "憧れる", "困る", "迷う", "悩む",
	"わかる", "分かる", "見える", "聞こえる", "似合う", "違う", "要る", "助かる", "疲れる", "驚く", "羨む", "惹かれる"}

// exclaims reports whether the sentence before token i opens an
// exclamation (なんて憧れるな, って感じるな) that a final な closes.
func exclaims(toks []token, i int) bool {
	for j := i - 1; j >= 0 && toks[j].sentence == toks[i].sentence; j-- {
		if toks[j].surface == "なんて" || toks[j].surface == "なんと" {
			return true
		}
	}
	return false
}

// lastingEndings end a command that asks for a lasting state: てろ, とけ,
// ておけ, ていろ.
var lastingEndings = []string{"てる", "いる", "とく", "おく", "どく"}

// commandEndings are the dependent verbs that end a command on a verb's
// て-form or stem: the completive しまえ, ちまえ, and the lasting ones.
var commandEndings = append([]string{"しまう", "ちまう", "じまう"}, lastingEndings...)

// commandEnding returns how many tokens after verb i end it as a command
// (て|しまえ, ちまえ, とけ, て|ろ), or 0.
func commandEnding(toks []token, i int) int {
	t := &toks[i]
	if !strings.HasPrefix(t.pos, "動詞,自立") || !strings.HasPrefix(t.form, "連用") {
		return 0
	}
	j := i + 1
	if j < len(toks) && toks[j].sentence == t.sentence && (toks[j].surface == "て" || toks[j].surface == "で") {
		j++
	}
	if j >= len(toks) || toks[j].sentence != t.sentence {
		return 0
	}
	n := &toks[j]
	switch {
	case strings.HasPrefix(n.pos, "動詞,非自立") && n.imperative && anyIn(commandEndings, n.keys):
		return j - i
	case n.surface == "ろ" && j == i+2 && endsPhrase(toks, j): // 待っ|て|ろ at the end of text
		return j - i
	}
	return 0
}

// lastingEnding reports whether the n tokens after verb i end a command
// with いる or おく (待っ|てろ, 待っ|とけ, 覚え|て|おけ, 待っ|て|ろ).
func lastingEnding(toks []token, i, n int) bool {
	e := &toks[i+n]
	return e.surface == "ろ" || anyIn(lastingEndings, e.keys)
}

// followsCommand reports whether what comes after verb i can only come
// after a command, not after the stem of a potential or transitive verb
// (両親含め人数も is "including"): a prefix, an interjection or a pronoun
// (返せクソが, 返せコラ, 死ねお前),
// a quoting particle (返せっつってんだ), or one of the lexicon's words
// (死ねカス, 返せボケ).
func followsCommand(toks []token, i int, f *forms) bool {
	if i+1 >= len(toks) || toks[i+1].sentence != toks[i].sentence {
		return false
	}
	n := &toks[i+1]
	switch {
	case strings.HasPrefix(n.pos, "接頭詞"), strings.HasPrefix(n.pos, "感動詞"), n.pos == "名詞,代名詞", n.surface == "w" || n.surface == "ww":
		return true
	case f != nil && f.set[fold(n.surface)], n.noun && isKatakanaWord(n.surface):
		return true // 死ねカス, 返せボケ, 返せコラ: a shout or an insult in katakana
	}
	return n.surface == "っ" || n.surface == "って" || n.surface == "つって" || strings.HasPrefix(n.surface, "よお")
}

// concedes reports a command form that is part of a concessive idiom:
// とは言え, いずれにしろ, どちらにせよ ("even so", "either way").
func concedes(toks []token, i int) bool {
	if i == 0 || toks[i-1].sentence != toks[i].sentence {
		return false
	}
	prev := toks[i-1].surface
	switch {
	case toks[i].hasKey("言う") || toks[i].hasKey("いう"):
		return prev == "は" || prev == "と"
	case toks[i].hasKey("する"):
		// Xにしろ is also a command (クビにしろ); the idiom asks "which" or
		// lists (いずれにしろ, AにしろBにしろ、).
		return prev == "に" && (beforeComma(toks, i) || i >= 2 && contains(whichWords, toks[i-2].surface))
	}
	return false
}

var whichWords = []string{"いずれ", "どちら", "どっち", "何", "なん", "いつ"}

// beforeComma reports whether a comma follows token i: a potential stem
// there continues the sentence (温泉でくつろげ、食事の美味しい宿).
func beforeComma(toks []token, i int) bool {
	return i+1 < len(toks) && toks[i+1].sentence == toks[i].sentence && (toks[i+1].surface == "、" || toks[i+1].surface == ",")
}

// isKatakanaWord reports a word written in katakana only.
func isKatakanaWord(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !isKatakana(r) })
}

// continuesVerb reports a token that cannot follow a command, so that a
// command form before it is a misreading: a conjunctive particle (て),
// an auxiliary (but the emphatic や of 来いや), a dependent verb, or a lone
// kana the tokenizer left over.
func continuesVerb(n *token) bool {
	switch {
	case n.pos == "助詞,接続助詞", n.pos == "助詞,連体化", strings.HasPrefix(n.pos, "動詞,非自立"):
		return true // ぬるめ|の is lukewarm
	case n.pos == "助詞,格助詞":
		return n.surface != "と" && n.surface != "って" // a command is quoted, never an argument
	case strings.HasPrefix(n.pos, "助動詞"):
		return n.surface != "や"
	}
	return n.noun && n.kana && utf8.RuneCountInString(n.surface) == 1 && !strings.HasPrefix(n.pos, "名詞,接尾")
}

// followedBy reports whether the tokens after i in its sentence spell
// text from their start (来|や|がれ).
func followedBy(toks []token, i int, text string) bool {
	for j := i + 1; j < len(toks) && toks[j].sentence == toks[i].sentence && text != ""; j++ {
		s := toks[j].surface
		if len(s) > len(text) {
			s = s[:len(text)]
		}
		if !strings.HasPrefix(text, s) {
			return false
		}
		text = text[len(s):]
	}
	return text == ""
}

// endsPhrase reports whether the token after i closes the verb phrase: the
// end of text or sentence, punctuation, or a sentence-final particle.
func endsPhrase(toks []token, i int) bool {
	if i+1 >= len(toks) || toks[i+1].sentence != toks[i].sentence {
		return true
	}
	n := toks[i+1]
	switch {
	case strings.HasPrefix(n.pos, "記号"), n.pos == "助詞,終助詞":
		return true
	case n.surface == "や" || n.surface == "よ" || n.surface == "!" || n.surface == "?":
		return true
	}
	return false
}

// eRowToURow maps the e-row kana that ends a potential verb's stem to the
// u-row kana of its godan verb (返せる → 返す).
var eRowToURow = map[rune]rune{
	'え': 'う', 'け': 'く', 'げ': 'ぐ', 'せ': 'す', 'ぜ': 'ず', 'て': 'つ', 'で': 'づ',
	'ね': 'ぬ', 'へ': 'ふ', 'べ': 'ぶ', 'め': 'む', 'れ': 'る',
}

// potentialToGodan turns a folded potential-verb lemma (かえせる) into its
// godan verb (かえす).
func potentialToGodan(lemma string) (string, bool) {
	if !strings.HasSuffix(lemma, "る") {
		return "", false
	}
	stem := strings.TrimSuffix(lemma, "る")
	r, size := utf8.DecodeLastRuneInString(stem)
	u, ok := eRowToURow[r]
	if !ok || size == len(stem) {
		return "", false
	}
	return stem[:len(stem)-size] + string(u), true
}

// isSentenceEnd reports runes that end a sentence.
func isSentenceEnd(r rune) bool {
	switch r {
	case '。', '!', '?', '！', '？', '\n', '．':
		return true
	}
	return false
}

// allKana reports whether s is kana (and prolonged-sound marks) only.
func allKana(s string) bool {
	for _, r := range s {
		if !isHiragana(r) && !isKatakana(r) {
			return false
		}
	}
	return s != ""
}

// symbolic reports whether s is only punctuation, symbols and spaces.
func symbolic(s string) bool {
	for _, r := range s {
		if !unicode.IsPunct(r) && !unicode.IsSymbol(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// features reads a token's IPA features without copying them all.
type features struct{ k tokenizer.Token }

func featureOf(k tokenizer.Token) features { return features{k} }

func feature(f features, i int) string {
	if v, ok := f.k.FeatureAt(i); ok && v != "" {
		return v
	}
	return "*"
}

// fold maps katakana to hiragana so that クズ and くず compare equal.
// Text is already NFKC-normalised and lower-cased.
func fold(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 'ァ' && r <= 'ヶ' }) {
		return s // nothing to fold: no copy
	}
	b := make([]rune, 0, len(s))
	for _, r := range s {
		if r >= 'ァ' && r <= 'ヶ' {
			r -= 'ァ' - 'ぁ'
		}
		b = append(b, r)
	}
	return string(b)
}
