package classifier

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normText is normalised text that remembers, for every rune, which runes
// of the original text it came from, so spans found in it can be reported
// in the original's code points.
type normText struct {
	runes []rune
	// src[i] is the half-open range of original rune offsets that produced
	// runes[i]. Ranges never decrease.
	src []span
	// brk[i] is set where a word must start at runes[i], whatever the
	// tokenizer would make of the context: after separators that split
	// words and around substituted spellings (担当〇ね is 担当 + 死ね).
	brk []bool
}

type span struct{ start, end int }

func (t *normText) String() string { return string(t.runes) }

// origSpan maps the normalised rune range [a,b) back to the original.
func (t *normText) origSpan(a, b int) span {
	if a >= b {
		return span{t.src[a].start, t.src[a].start}
	}
	return span{t.src[a].start, t.src[b-1].end}
}

func (t *normText) push(r rune, sp span) {
	t.runes = append(t.runes, r)
	t.src = append(t.src, sp)
	t.brk = append(t.brk, false)
}

// copyRune appends rune i of from, keeping its break.
func (t *normText) copyRune(from *normText, i int) {
	t.push(from.runes[i], from.src[i])
	t.brk[len(t.brk)-1] = from.brk[i]
}

// breakAt marks that a word starts at rune i.
func (t *normText) breakAt(i int) {
	if i >= 0 && i < len(t.brk) {
		t.brk[i] = true
	}
}

// normalize reads text the way abusive customers write it. In order:
//
//  1. NFKC, segment by segment so every output rune traces to its input
//     (half-width ｶﾀｶﾅ, full-width ＡＢＣ), then lower case;
//  2. lookalikes inside katakana: 口→ロ, 工→エ, 力→カ, 夕→タ, 卜→ト, 二→ニ,
//     八→ハ, 一→ー (コ口ス is コロス);
//  3. separators inserted inside Japanese words are dropped: spaces, dots,
//     middle dots, zero-width and other format characters between kana or
//     kanji (し ね, 死.ね, む の う);
//  4. stretching is squeezed: a character repeated three or more times
//     becomes one (しねええええ), and ー or 〜 stretching hiragana is dropped
//     (ばーーか, バ〜〜カ);
//  5. katakana written as a verb stem before hiragana okurigana becomes
//     hiragana (コロされ, ｺﾛしてやる), so the dictionary can read the verb;
//  6. the substitution table (氏ね→死ね, 56す→殺す, ...), longest first.
//
// s must be valid UTF-8.
//
// isWord tells whether a katakana run is a dictionary word (step 5 leaves
// those alone: アホすぎ, ネットで); nil skips step 5.
//
// bufs, when not nil, are reused for the result and the steps before it.
func normalize(s string, subs *substitutions, isWord func(string) bool, bufs *normBufs) *normText {
	t := nfkc(s, bufs.first())
	t = lookalikes(t)
	t = dropSeparators(t, bufs.other(t))
	t = squeeze(t, bufs.other(t))
	if isWord != nil {
		t = kanaStems(t, isWord)
	}
	return subs.apply(subs.goro(t), bufs.other(t))
}

// goroReadings are the kana a digit stands for in wordplay (語呂合わせ):
// 56す is ころす, 4ね is しね.
var goroReadings = [10][]rune{
	{'お', 'れ', 'ま'}, {'い', 'ひ'}, {'に', 'ふ', 'じ'}, {'さ', 'み'}, {'し', 'よ'},
	{'ご', 'こ'}, {'ろ', 'む'}, {'な'}, {'は', 'や', 'ば'}, {'く', 'ぐ'},
}

// maxGoro is the longest run of digits read as kana.
const maxGoro = 3

// goro rewrites in place a short run of digits that stands alone before
// hiragana when, read as kana, it is the stem of one of the lexicon's
// harassment verbs (56されたい: ころされたい). Digits in numbers, labels and
// counts (3つ, 第4の, 56ページ) stay: they are not before hiragana, or no
// verb's stem reads so.
func (s *substitutions) goro(t *normText) *normText {
	if s == nil || s.forms == nil || len(s.forms.goroStems) == 0 {
		return t
	}
	rs := t.runes
	for i := 0; i < len(rs); {
		if !isASCIIDigit(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && isASCIIDigit(rs[j]) {
			j++
		}
		alone := i == 0 || !isLatin(rs[i-1]) && !isKatakana(rs[i-1]) && !isKanji(rs[i-1]) && !isASCIIDigit(rs[i-1])
		if alone && j-i <= maxGoro && j < len(rs) && isHiragana(rs[j]) {
			if kana, ok := s.forms.goroStem(rs[i:j]); ok {
				copy(rs[i:j], kana)
			}
		}
		i = j
	}
	return t
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// normBufs are two normTexts that the steps of normalize write in turn.
type normBufs struct{ a, b normText }

func (b *normBufs) first() *normText {
	if b == nil {
		return nil
	}
	return &b.a
}

// other is the buffer a step reading t writes to, or nil for a new one.
func (b *normBufs) other(t *normText) *normText {
	switch {
	case b == nil:
		return nil
	case t == &b.a:
		return &b.b
	}
	return &b.a
}

func nfkc(s string, buf *normText) *normText {
	t := reuse(buf, utf8.RuneCountInString(s))
	var it norm.Iter
	orig := 0
	for off := 0; off < len(s); {
		// Most text is already in NFKC: its runes stand for themselves.
		q := off + norm.NFKC.QuickSpanString(s[off:])
		for _, r := range s[off:q] {
			t.push(unicode.ToLower(r), span{orig, orig + 1})
			orig++
		}
		if off = q; off == len(s) {
			break
		}
		// One segment that changes, traced as a whole to its input. A
		// long expansion (… is ...) comes out in pieces before the
		// iterator moves on.
		it.InitString(norm.NFKC, s[off:])
		var seg []byte
		for {
			seg = append(seg, it.Next()...)
			if it.Pos() > 0 || it.Done() {
				break
			}
		}
		next := off + it.Pos()
		n := utf8.RuneCountInString(s[off:next])
		for _, r := range string(seg) {
			t.push(unicode.ToLower(r), span{orig, orig + n})
		}
		orig += n
		off = next
	}
	return t
}

// reuse empties buf for about n runes, or makes a new normText if buf is nil.
func reuse(buf *normText, n int) *normText {
	if buf == nil {
		return &normText{runes: make([]rune, 0, n), src: make([]span, 0, n), brk: make([]bool, 0, n)}
	}
	buf.runes, buf.src, buf.brk = slices.Grow(buf.runes[:0], n), slices.Grow(buf.src[:0], n), slices.Grow(buf.brk[:0], n)
	return buf
}

func isKatakana(r rune) bool { return r >= 'ァ' && r <= 'ヺ' || r == 'ー' }
func isHiragana(r rune) bool { return r >= 'ぁ' && r <= 'ゖ' }
func isKanji(r rune) bool {
	return unicode.Is(unicode.Han, r) || r == '々' || r == '〇'
}
func isJapanese(r rune) bool { return isKatakana(r) || isHiragana(r) || isKanji(r) }

// lookalikeKatakana maps kanji and signs that look like katakana.
var lookalikeKatakana = map[rune]rune{
	'口': 'ロ', '工': 'エ', '力': 'カ', '夕': 'タ', '卜': 'ト', '二': 'ニ', '八': 'ハ', '一': 'ー', 'へ': 'ヘ',
}

func lookalikes(t *normText) *normText {
	for i := 1; i+1 < len(t.runes); i++ {
		p, n := t.runes[i-1], t.runes[i+1]
		if !isKatakana(p) || p == 'ー' || !isKatakana(n) || n == 'ー' {
			continue // between katakana only: 口 is a mouth elsewhere
		}
		if k, ok := lookalikeKatakana[t.runes[i]]; ok {
			t.runes[i] = k
		}
	}
	return t
}

// isSeparator reports characters customers insert to break up a word.
func isSeparator(r rune) bool {
	if r > 0x3000 && r < 0xFE00 {
		// Kana and kanji, most of any message: no format or control
		// character is among them (TestSeparatorsPastIdeographicSpace),
		// and one separator.
		return r == '・'
	}
	switch r {
	case ' ', '　', '.', '・', '·', '_', '*', '/', '\t', '-', '+', '|', '｜', '‐', '−':
		return true
	}
	// Zero-width space, joiners, direction marks; NUL and other control
	// characters but the line ends.
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Cc, r) && r != '\n' && r != '\r'
}

// dropSeparators removes separators customers put inside Japanese words.
// Where a dropped separator stood between longer stretches (全員 し ね) a
// word still starts after it; only between single letters (し ね, 死.ね,
// む の う) is it taken to be inside a spelt-out word.
func dropSeparators(t, buf *normText) *normText {
	if !slices.ContainsFunc(t.runes, isSeparator) {
		return t
	}
	out := reuse(buf, len(t.runes))
	segment := func(from, step int) int { // Japanese letters up to the next separator or sign
		n := 0
		for k := from; k >= 0 && k < len(t.runes) && isJapanese(t.runes[k]); k += step {
			n++
		}
		return n
	}
	pending := false
	for i := 0; i < len(t.runes); i++ {
		r := t.runes[i]
		if !isSeparator(r) {
			out.copyRune(t, i)
			if pending {
				out.breakAt(len(out.runes) - 1)
				pending = false
			}
			continue
		}
		j := i
		for j < len(t.runes) && isSeparator(t.runes[j]) {
			j++
		}
		// Drop a run of separators between two Japanese characters, and
		// format characters anywhere; keep the rest (English needs spaces).
		between := i > 0 && j < len(t.runes) && isJapanese(t.runes[i-1]) && isJapanese(t.runes[j])
		for k := i; k < j; k++ {
			if !between && !unicode.Is(unicode.Cf, t.runes[k]) {
				out.copyRune(t, k)
			}
		}
		if between && !(segment(i-1, -1) == 1 && segment(j, 1) == 1) {
			pending = true
		}
		i = j - 1
	}
	return out
}

func isStretch(r rune) bool { return r == 'ー' || r == '〜' || r == '~' || r == '～' }

func squeeze(t, buf *normText) *normText {
	if !needsSqueeze(t.runes) {
		return t
	}
	out := reuse(buf, len(t.runes))
	n := len(t.runes)
	for i := 0; i < n; {
		r := t.runes[i]
		j := i + 1
		for j < n && t.runes[j] == r {
			j++
		}
		p := prev(t.runes, i)
		switch {
		case r == 'い' && j-i >= 2 && strings.ContainsRune(hiraganaRows[1], p):
			// 気持ちいい, 本当にいい加減にして: after a kana of the i row,
			// いい is the adjective, not に stretched; a longer run is
			// いい stretched (気持ちいいいい).
			out.copyRune(t, i)
			out.copyRune(t, i+1)
			out.src[len(out.src)-1].end = t.src[j-1].end
		case isStretch(r) && isHiragana(p),
			// ばーか, しね〜: stretching hiragana adds nothing.
			r != 'ー' && isStretch(r) && isKatakana(p),
			// バ〜カ
			isHiragana(p) && stretchesVowel(p, r, j-i):
			// しねええ, ばかぁぁ: a vowel stretching the kana before it.
			// The kana before absorbs the stretch, so spans include it.
			out.src[len(out.src)-1].end = t.src[j-1].end
		case j-i >= 3 && !unicode.IsDigit(r):
			out.copyRune(t, i)
			out.src[len(out.src)-1].end = t.src[j-1].end
		default:
			for k := i; k < j; k++ {
				out.copyRune(t, k)
			}
		}
		i = j
	}
	return out
}

// needsSqueeze reports whether squeeze would change rs: a stretch mark or
// small vowel after kana, or a rune repeated.
func needsSqueeze(rs []rune) bool {
	for i := 1; i < len(rs); i++ {
		r, p := rs[i], rs[i-1]
		if r == p || isStretch(r) || isSmallVowel(r) || isPlainVowel(r) && isHiragana(p) {
			return true
		}
	}
	return false
}

func prev(rs []rune, i int) rune {
	if i == 0 {
		return 0
	}
	return rs[i-1]
}

// hiraganaRows lists hiragana by vowel: a, i, u, e, o.
var hiraganaRows = [5]string{
	"あかがさざただなはばぱまやらわゃ",
	"いきぎしじちぢにひびぴみり",
	"うくぐすずつづぬふぶぷむゆるゅ",
	"えけげせぜてでねへべぺめれ",
	"おこごそぞとどのほぼぽもよろを",
}

const plainVowels, smallVowels = "あいうえお", "ぁぃぅぇぉ"

func isPlainVowel(r rune) bool {
	return r == 'あ' || r == 'い' || r == 'う' || r == 'え' || r == 'お'
}
func isSmallVowel(r rune) bool {
	return r == 'ぁ' || r == 'ぃ' || r == 'ぅ' || r == 'ぇ' || r == 'ぉ'
}

// stretchesVowel reports whether a run of n vowel r after kana p is
// stretching: small vowels always are; plain ones when the run is two or
// more and repeats p's own vowel (ねええ, but not かいい or ええ alone).
func stretchesVowel(p, r rune, n int) bool {
	for v := 0; v < 5; v++ {
		if r == []rune(smallVowels)[v] {
			return true
		}
		if r == []rune(plainVowels)[v] {
			return n >= 2 && strings.ContainsRune(hiraganaRows[v]+plainVowels[v*3:v*3+3], p)
		}
	}
	return false
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// kanaStems turns a short katakana run that is directly followed by
// hiragana okurigana into hiragana: コロされ → ころされ, ムカつく → むかつく.
// Runs followed by a particle (カードが, シネよ), holding a long-vowel mark
// (メールして, a loanword verb) or that the dictionary knows as a word
// (アホすぎ, ネットさらす, パンクさせる) are left alone: there the katakana is
// a word of its own.
func kanaStems(t *normText, isWord func(string) bool) *normText {
	rs := t.runes
	for i := 0; i < len(rs); {
		if !isKatakana(rs[i]) || rs[i] == 'ー' {
			i++
			continue
		}
		j := i
		for j < len(rs) && isKatakana(rs[j]) {
			j++
		}
		startsWord := i == 0 || !isKatakana(rs[i-1]) && !isKanji(rs[i-1])
		if startsWord && j-i <= 2 && j < len(rs) && isHiragana(rs[j]) && !particleStart(rs[j:]) &&
			!containsRune(rs[i:j], 'ー') && !isWord(string(rs[i:j])) {
			for k := i; k < j; k++ {
				if rs[k] != 'ー' {
					rs[k] -= 'ァ' - 'ぁ'
				}
			}
		}
		i = j
	}
	return t
}

// particleStart reports whether rs starts with a particle or copula that
// commonly follows a katakana noun.
func particleStart(rs []rune) bool {
	switch rs[0] {
	case 'が', 'を', 'に', 'は', 'の', 'で', 'と', 'も', 'へ', 'や', 'か', 'よ', 'ね', 'な', 'じ', 'だ', 'ぞ', 'わ', 'っ':
		return true
	}
	return false
}

// substitution replaces an obfuscated spelling.
type substitution struct {
	from []rune
	to   []rune
}

// substitutions is a compiled substitution table, indexed by first rune,
// longest first.
type substitutions struct {
	byFirst map[rune][]substitution
	// firsts are byFirst's keys: most runes of a message start none, and
	// testing a bit costs less than looking up a map.
	firsts runeSet
	// forms are the lexicon's words, for segmentation (see forms); nil
	// while the lexicon's own phrases are compiled.
	forms *forms
}

func newSubstitutions(pairs [][2]string) *substitutions {
	s := &substitutions{byFirst: map[rune][]substitution{}}
	for _, p := range pairs {
		from := normalize(p[0], nil, nil, nil).runes
		to := normalize(p[1], nil, nil, nil).runes
		if len(from) == 0 {
			continue
		}
		s.byFirst[from[0]] = append(s.byFirst[from[0]], substitution{from, to})
		s.firsts.add(from[0])
	}
	for _, l := range s.byFirst {
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].from) > len(l[j].from) })
	}
	return s
}

// firstsOf returns the substitutions that start with r.
func (s *substitutions) firstsOf(r rune) []substitution {
	if !s.firsts.has(r) {
		return nil
	}
	return s.byFirst[r]
}

// runeSet is a set of runes, exact on the Basic Multilingual Plane, where
// Japanese is, and holding every rune past it.
type runeSet [1 << 16 / 64]uint64

func (s *runeSet) add(r rune) {
	if r >= 0 && r < 1<<16 {
		s[r/64] |= 1 << (r % 64)
	}
}

func (s *runeSet) has(r rune) bool {
	return r >= 1<<16 || r >= 0 && s[r/64]&(1<<(r%64)) != 0
}

func (s *substitutions) apply(t, buf *normText) *normText {
	if s == nil || len(s.byFirst) == 0 {
		return t
	}
	var out *normText
	pending := false
	for i := 0; i < len(t.runes); {
		var hit *substitution
		for k, c := range s.firstsOf(t.runes[i]) {
			if hasPrefix(t.runes[i:], c.from) && wordEdges(t.runes, i, i+len(c.from), c.from) {
				hit = &s.byFirst[t.runes[i]][k]
				break
			}
		}
		if hit == nil {
			if out != nil {
				out.copyRune(t, i)
				if pending {
					out.breakAt(len(out.runes) - 1)
					pending = false
				}
			}
			i++
			continue
		}
		if out == nil {
			out = reuse(buf, len(t.runes))
			out.runes, out.src, out.brk = append(out.runes, t.runes[:i]...), append(out.src, t.src[:i]...), append(out.brk, t.brk[:i]...)
		}
		sp := span{t.src[i].start, t.src[i+len(hit.from)-1].end}
		for _, r := range hit.to {
			out.push(r, sp)
		}
		// The substituted word is read on its own, whatever surrounds it.
		out.breakAt(len(out.runes) - len(hit.to))
		pending = true
		i += len(hit.from)
	}
	if out == nil {
		return t
	}
	return out
}

// wordEdges reports whether a substitution whose from starts with a digit,
// or starts or ends with a Latin letter, sits on word boundaries at rs[i:j]: shine, never sunshine.
func wordEdges(rs []rune, i, j int, from []rune) bool {
	if isLatin(from[0]) && i > 0 && isLatin(rs[i-1]) {
		return false
	}
	if unicode.IsDigit(from[0]) && i > 0 && (unicode.IsDigit(rs[i-1]) || isLatin(rs[i-1]) || isKatakana(rs[i-1])) {
		return false // a digit that ends a number or a label (サイズ4ね, a4ね) is no letter
	}
	if !isLatin(from[len(from)-1]) {
		return true
	}
	if j < len(rs) && isLatin(rs[j]) {
		return false
	}
	// Nor when an English word follows (Shine Muscat is a grape); a short
	// romaji particle may (korosu zo, shine yo).
	for j < len(rs) && rs[j] == ' ' {
		j++
	}
	k := j
	for k < len(rs) && isLatin(rs[k]) {
		k++
	}
	return k-j < 4
}

func isLatin(r rune) bool { return r < 0x250 && unicode.IsLetter(r) }

func hasPrefix(rs, p []rune) bool {
	if len(rs) < len(p) {
		return false
	}
	for i := range p {
		if rs[i] != p[i] {
			return false
		}
	}
	return true
}
