package classifier

import (
	"strings"
	"unicode/utf8"

	"github.com/ikawaha/kagome/v2/tokenizer"
)

// Lexicon-aware segmentation. The IPA dictionary does not know the words
// abusive customers use, nor new slang an analyst adds, and it shreds them:
// ぴよぴよもぐらです and シネカス become one unknown word, お前ら全員死ね ends in
// 死|ね, むのう in hiragana falls apart letter by letter. The lexicon knows
// these words, so the analyser reads the tokens again against the forms of
// the lexicon's words: how each is written and how it reads.

// forms are the words of a lexicon that the dictionary is most likely to
// shred, folded (katakana as hiragana), of two runes or more: commands
// (死ね, 消えろ, as written and as read), words written in kana (カス, バカ)
// and words the dictionary does not know at all (ぴよぴよもぐら). Other
// words compile as the dictionary reads them, so messages that read them
// so already match.
type forms struct {
	set map[string]bool
	// firsts has a bit for the first rune of each of set's forms: a run
	// that starts with another cannot spell one. Forms are Japanese, so
	// the bits cover the Basic Multilingual Plane.
	firsts runeSet
	// cuts are what an unknown word is cut at: the forms, and every
	// content word of three runes or more as written and as read (コロス
	// in コロスコロス).
	cuts map[string]bool
	// stems map the kanji stem of a harassment entry's verb to the verb
	// (殺 → 殺す): a threat broken off before its ending (ぶっ殺) is read
	// as the verb.
	stems map[string]string
	// homophones are the readings of harassment entries' kanji nouns of
	// three kana or more (むのう for 無能): a prefix and a noun the tokenizer
	// cut apart that read so are the word in other kanji (無|脳).
	homophones map[string]bool
	// goroStems are the kana stems of harassment verbs (ころ of ころす),
	// which digits may spell (see substitutions.goro).
	goroStems map[string]bool
	// longest is the rune length of the longest form or cut.
	longest int
}

// goroStem returns the kana digits spell when, read by goroReadings, they
// are a harassment verb's stem.
func (f *forms) goroStem(digits []rune) ([]rune, bool) {
	kana := make([]rune, len(digits))
	var try func(k int) bool
	try = func(k int) bool {
		if k == len(digits) {
			return f.goroStems[string(kana)]
		}
		for _, r := range goroReadings[digits[k]-'0'] {
			kana[k] = r
			if try(k + 1) {
				return true
			}
		}
		return false
	}
	return kana, try(0)
}

// newForms collects the forms of pats' words; harassing tells whether a
// pattern's owner is a harassment entry.
func newForms(pats []*pattern, harassing func(owner int) bool) *forms {
	f := &forms{set: map[string]bool{}, cuts: map[string]bool{}, stems: map[string]string{}, goroStems: map[string]bool{}, homophones: map[string]bool{}}
	add := func(s string, form bool) {
		n := utf8.RuneCountInString(s)
		if n >= 3 || form && n >= 2 {
			f.cuts[s] = true
			f.longest = max(f.longest, n)
			if form {
				f.set[s] = true
				r, _ := utf8.DecodeRuneInString(s)
				f.firsts.add(r)
			}
		}
	}
	for _, p := range pats {
		for i := range p.elems {
			e := &p.elems[i]
			if e.gap || e.class != "" || !e.content {
				continue
			}
			form := e.imperative || e.kana || !e.known
			add(fold(e.surface), form)
			add(e.spelling, form)
			for _, r := range e.readings {
				add(r, false)
			}
			if harassing(p.owner) {
				if e.noun && !e.kana && utf8.RuneCountInString(e.spelling) >= 3 {
					f.homophones[e.spelling] = true
				}
				for _, r := range e.readings {
					if rs := []rune(r); len(rs) >= 3 && len(rs)-1 <= maxGoro && kanjiStem(e.keys[0]) != "" {
						f.goroStems[string(rs[:len(rs)-1])] = true // ころす: ころ
					}
				}
				for _, k := range e.keys {
					if stem := kanjiStem(k); stem != "" && f.stems[stem] == "" {
						f.stems[stem] = k // the first written wins (来る, not 来す)
					}
				}
			}
		}
	}
	return f
}

// kanjiStem returns the kanji of a verb lemma written as kanji and one
// kana of okurigana (殺す → 殺), or "".
func kanjiStem(lemma string) string {
	rs := []rune(lemma)
	if len(rs) < 2 || !isHiragana(rs[len(rs)-1]) || !strings.ContainsRune("うくぐすつぬぶむる", rs[len(rs)-1]) {
		return ""
	}
	for _, r := range rs[:len(rs)-1] {
		if !isKanji(r) {
			return ""
		}
	}
	return string(rs[:len(rs)-1])
}

// truncated returns the verb a token broken off at its stem stands for
// (ぶっ殺, 殺ぞ), or "": a harassment entry's kanji stem ending its phrase.
func (f *forms) truncated(toks []token, i int) string {
	if f == nil || len(toks[i].surface) > maxStemBytes {
		return ""
	}
	if v := f.stems[toks[i].surface]; v != "" && endsPhrase(toks, i) {
		return v
	}
	return ""
}

// maxStemBytes bounds the kanji stems truncated looks up: two kanji.
const maxStemBytes = 6

// maxCutRunes is the longest unknown token cutUnknown reads: a word with
// what is glued to it (ぴよぴよもぐらです, むのうはさっさとしね) is short; a
// longer unknown run is noise, and cutting it would only tokenise it twice.
const maxCutRunes = 24

// cutUnknown marks in t a word break inside each unknown word of toks that
// begins or ends with a form, longest first, and reports whether it marked
// any: the sentence must then be tokenised again.
func (f *forms) cutUnknown(t *normText, toks []token) bool {
	if f == nil {
		return false
	}
	cut := false
	var ends [maxCutRunes + 1]int // byte offsets of rune ends in folded
	for i := range toks {
		k := &toks[i]
		n := k.end - k.start
		if k.lexical.cached || n < 3 || n > maxCutRunes || !isJapanese(t.runes[k.start]) {
			continue
		}
		folded := fold(k.surface)
		r := 0
		for off := range folded {
			ends[r] = off
			r++
		}
		ends[n] = len(folded)
		for l := min(n-1, f.longest); l >= 2; l-- {
			if f.cuts[folded[:ends[l]]] {
				t.breakAt(k.start + l)
				cut = true
				break
			}
			if f.cuts[folded[ends[n-l]:]] {
				t.breakAt(k.end - l)
				cut = true
				break
			}
		}
	}
	return cut
}

// maxJoin is how many tokens joinSplit reads as one word at most.
const maxJoin = 4

// joinSplit reads again toks[from:], one sentence's tokens: a run of
// tokens the tokenizer cut too finely, which spells or reads as a form
// (死|ね, む|の|う, 無|脳), becomes one token. A run is suspect when each
// of its tokens is one letter, or one is unknown; it never starts with a
// particle or auxiliary (楽しいし|ね is no 死ね).
func (a *Analyzer) joinSplit(toks []token, from int, f *forms) []token {
	if f == nil {
		return toks
	}
	for i := from; i < len(toks); i++ {
		if r, _ := utf8.DecodeRuneInString(toks[i].surface); !f.starts(foldRune(r)) && !strings.HasPrefix(toks[i].pos, "接頭詞") {
			continue // no form starts so, nor a homophone (無|脳)
		}
		if toks[i].dependent && !strings.HasPrefix(toks[i].pos, "名詞,接尾") {
			continue // a word starts with a word of its own: not さ|れ|ず; 死|ね may start with a noun suffix
		}
		if !mayJoin(toks[i:min(len(toks), i+maxJoin)]) {
			continue
		}
		for j := min(len(toks), i+maxJoin); j >= i+2; j-- {
			if !suspectRun(toks[i:j]) {
				continue
			}
			if t, ok := a.asForm(toks[i:j], f); ok {
				toks[i] = t
				toks = append(toks[:i+1], toks[j:]...)
				break
			}
		}
	}
	return toks
}

// starts reports whether a form starts with r.
func (f *forms) starts(r rune) bool {
	return r < 1<<16 && f.firsts.has(r)
}

// foldRune maps a katakana rune to hiragana, as fold does.
func foldRune(r rune) rune {
	if r >= 'ァ' && r <= 'ヶ' {
		return r - ('ァ' - 'ぁ')
	}
	return r
}

// mayJoin is the cheap test before suspectRun: a run that starts at
// window[0] can be suspect only if that token is one letter or an unknown
// word is within reach.
func mayJoin(window []token) bool {
	if len(window) < 2 {
		return false
	}
	if window[0].end-window[0].start == 1 {
		return true
	}
	for k := range window {
		if !window[k].lexical.cached {
			return true
		}
	}
	return false
}

// suspectRun reports whether run is contiguous, in one sentence, and cut
// suspiciously: one letter a token, or an unknown token among them.
func suspectRun(run []token) bool {
	letters, unknown := true, false
	for k := range run {
		t := &run[k]
		if k > 0 && (t.start != run[k-1].end || t.sentence != run[0].sentence || t.quoted != run[0].quoted) {
			return false
		}
		if strings.HasPrefix(t.pos, "記号") || t.pos == "絵文字,*" {
			return false
		}
		if k > 0 && (strings.HasPrefix(t.pos, "助動詞") || t.pos == "助詞,接続助詞" || strings.HasPrefix(t.pos, "動詞,非自立") || strings.HasPrefix(t.pos, "動詞,接尾")) {
			return false // grammar that goes on from the word before: し|た, い|て
		}
		letters = letters && t.end-t.start == 1
		unknown = unknown || !t.lexical.cached
	}
	return letters || unknown
}

// homophone reports whether run is a kanji prefix and a kanji noun.
func homophone(run []token) bool {
	return strings.HasPrefix(run[0].pos, "接頭詞") && run[1].noun && !run[0].kana && !run[1].kana &&
		isKanji([]rune(run[0].surface)[0]) && isKanji([]rune(run[1].surface)[0])
}

// asForm returns run read as one token, when its spelling or its reading is
// a form: as the dictionary reads the joined text, if it knows it as one
// word, or else as a word read as the form.
func (a *Analyzer) asForm(run []token, f *forms) (token, bool) {
	var text strings.Builder
	for k := range run {
		text.WriteString(run[k].surface)
	}
	// By spelling only: kanji split apart read as many words (社|製 reads
	// as a vulgar word, 歩|も as another), and a dictionary word spelt
	// with other kanji is that word.
	form := fold(text.String())
	if !f.set[form] {
		// Except one shape: a kanji prefix and a kanji noun the dictionary
		// does not know together, read as a harassment noun (無|脳).
		if form = run[0].reading + run[len(run)-1].reading; len(run) != 2 || !homophone(run) || !f.homophones[form] {
			return token{}, false
		}
	}
	t := run[0]
	t.surface, t.end = text.String(), run[len(run)-1].end
	if ks := a.tok.Tokenize(t.surface); len(ks) == 1 && ks[0].Class == tokenizer.KNOWN {
		t.lexical = a.lexicalOf(ks[0])
	} else {
		l := &lexical{pos: "名詞,一般", form: "*", keys: []string{form}, spelling: form, reading: form,
			kana: allKana(t.surface), noun: true, byReading: true}
		t.lexical = l
	}
	t.keys, t.imperative, t.prohibitive = t.lexical.keys, t.lexical.imperative, false
	return t, true
}
