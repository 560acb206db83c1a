package classifier

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/lexicon"
)

// pathologicalInput is an input of near the maximum size in a shape that
// slows the classifier down, and what makes it so once normalised (see
// TestPathologicalInputsSurviveNormalisation): a shape that normalisation
// squeezes away (one character repeated becomes one) would time the
// squeezing, not the tokenizer.
type pathologicalInput struct {
	name, text string
	// shape is what the normalised text must still have.
	shape shape
}

type shape int

const (
	// longRuns: runs of one character class of at least runLimit runes,
	// which chunks cuts every runLimit (the tokenizer's unknown-word
	// worst case).
	longRuns shape = iota
	// classChanges: a character class change at nearly every rune.
	classChanges
	// manySentences: a sentence or line break every few runes, so many
	// tiny chunks.
	manySentences
	// manyMatches: a lexicon match every few runes.
	manyMatches
)

// size is the bytes each pathological input is cut to, under
// DefaultMaxTextBytes.
const size = 60 << 10

// repeatTo repeats s to at most n bytes.
func repeatTo(s string, n int) string { return strings.Repeat(s, n/len(s)) }

var pathological = []pathologicalInput{
	{"katakana", repeatTo("アイウエオカキクケコサシスセソタチツテトナニヌネノ", size), longRuns},
	{"halfwidth-kana", repeatTo("ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉ", size), longRuns},
	{"hiragana", repeatTo("あいうえおかきくけこさしすせそたちつてとなにぬねの", size), longRuns},
	{"kanji", repeatTo("殺死罵怒脅迫謝罪責任賠償返金誠意土下座晒拡散訴訟", size), longRuns},
	{"ascii-letters", repeatTo("abcdefghijklmnopqrstuvwxyz", size), longRuns},
	{"fullwidth-letters", repeatTo("ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ", size), longRuns},
	{"digits", repeatTo("5", size), longRuns}, // digits are never squeezed
	{"emoji", repeatTo("😡🔥💢👊😤🤬💀", size), longRuns},
	{"mixed-run", repeatTo("アa1か漢", size), classChanges},
	{"short-lines", repeatTo("あ\n", size), manySentences},
	{"repeated-word", repeatTo("殺す", size), manyMatches},
}

func BenchmarkPathological(b *testing.B) {
	c := defaultClassifier(b)
	for _, p := range pathological {
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(p.text)))
			for b.Loop() {
				if _, err := c.Classify(p.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPathologicalInputsSurviveNormalisation: each input of
// BenchmarkPathological is still near the maximum size once normalised,
// still of its shape, and accepted.
func TestPathologicalInputsSurviveNormalisation(t *testing.T) {
	c := defaultClassifier(t)
	for _, p := range pathological {
		t.Run(p.name, func(t *testing.T) {
			if len(p.text) > DefaultMaxTextBytes || len(p.text) < size-64 {
				t.Fatalf("%d bytes, want near %d and at most %d", len(p.text), size, DefaultMaxTextBytes)
			}
			in := []rune(p.text)
			nt := normalize(p.text, c.subs, c.an.isWord, nil)
			rs := nt.runes
			if len(rs) < len(in)*9/10 {
				t.Fatalf("normalised to %d runes of %d: normalisation squeezes it away", len(rs), len(in))
			}
			var longest, run, changes int
			for i, r := range rs {
				if i > 0 && charClass(r) == charClass(rs[i-1]) {
					run++
				} else {
					run = 1
					changes++
				}
				longest = max(longest, run)
			}
			switch p.shape {
			case longRuns:
				if longest < runLimit {
					t.Errorf("longest run of one class %d runes, want >= %d", longest, runLimit)
				}
			case classChanges:
				if changes < len(rs)*9/10 {
					t.Errorf("%d class changes in %d runes, want one at nearly every rune", changes, len(rs))
				}
			case manySentences:
				var chs []span
				for _, s := range sentences(rs) {
					chs = chunks(chs, rs, nt.brk, s)
				}
				if len(chs) < len(rs)/4 {
					t.Errorf("%d chunks in %d runes, want one every few runes", len(chs), len(rs))
				}
			}
			if err := c.Validate(p.text); err != nil {
				t.Fatalf("refused: %v", err)
			}
			if p.shape == manyMatches {
				r, err := c.Classify(p.text)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Matches) < len(rs)/8 {
					t.Errorf("%d matches in %d runes, want one every few runes", len(r.Matches), len(rs))
				}
			}
		})
	}
}

// devTexts are the texts of the shared development corpus; without it the
// benchmark is skipped.
func devTexts(b *testing.B) []string {
	data, err := os.ReadFile("../../shared/eval/dev.jsonl")
	if err != nil {
		b.Skipf("dev corpus: %v", err)
	}
	var texts []string
	for _, line := range strings.Split(string(data), "\n") {
		var m struct{ Text string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Text != "" {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

// tokenizedChunks are the strings c's analyzer hands the tokenizer when c
// classifies text, in order: each chunk of each sentence of the normalised
// text and, when the chunk's unknown words are cut (forms.cutUnknown), the
// pieces it is tokenised again in. toks are the tokens they give, which
// TestTokenizedChunksAreClassifys checks against tokenizeSentence.
func tokenizedChunks(c *Classifier, text string) (strs []string, toks []token) {
	a, nt := c.an, normalize(text, c.subs, c.an.isWord, nil)
	var f *forms
	if c.subs != nil {
		f = c.subs.forms
	}
	var q quoting
	for si, sent := range sentences(nt.runes) {
		for _, ch := range chunks(nil, nt.runes, nt.brk, sent) {
			strs = append(strs, string(nt.runes[ch.start:ch.end]))
			from, q0 := len(toks), q
			toks = a.tokenizeChunk(toks, nt.runes, ch, si, &q)
			if f.cutUnknown(nt, toks[from:]) {
				toks, q = toks[:from], q0
				for _, p := range chunks(nil, nt.runes, nt.brk, ch) {
					strs = append(strs, string(nt.runes[p.start:p.end]))
					toks = a.tokenizeChunk(toks, nt.runes, p, si, &q)
				}
			}
		}
	}
	return strs, toks
}

// TestTokenizedChunksAreClassifys: the chunks BenchmarkTokenizeOnly
// tokenises give the tokens Classify's analysis tokenises, on the dev
// corpus and the pathological inputs, so the two benchmarks time the same
// tokenizer work.
func TestTokenizedChunksAreClassifys(t *testing.T) {
	c := defaultClassifier(t)
	texts := []string{"ふざけんな、ｺﾛｽぞ。責任者を出せ！\n土下座しろ", "ぴよぴよもぐらです。シネカス"}
	if data, err := os.ReadFile("../../shared/eval/dev.jsonl"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			var m struct{ Text string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Text != "" {
				texts = append(texts, m.Text)
			}
		}
	}
	for _, p := range pathological {
		// The first 4 KiB have every chunk shape of the whole (-race
		// makes tokenising all 60 KiB twice slow).
		text := []rune(p.text)
		texts = append(texts, string(text[:min(len(text), 4<<10/3)]))
	}
	for i, text := range texts {
		_, got := tokenizedChunks(c, text)
		nt := normalize(text, c.subs, c.an.isWord, nil)
		var want []token
		var q quoting
		for si, sent := range sentences(nt.runes) {
			want = c.an.tokenizeSentence(want, nt, sent, si, &q, c.subs.forms)
		}
		if len(got) != len(want) {
			t.Fatalf("text %d: %d tokens from the chunks, %d from tokenizeSentence", i, len(got), len(want))
		}
		for j := range want {
			g, w := got[j], want[j]
			if g.surface != w.surface || g.start != w.start || g.end != w.end || g.sentence != w.sentence {
				t.Fatalf("text %d token %d: %q [%d,%d) sentence %d, tokenizeSentence %q [%d,%d) sentence %d",
					i, j, g.surface, g.start, g.end, g.sentence, w.surface, w.start, w.end, w.sentence)
			}
		}
	}
}

// BenchmarkTokenizeOnly is the floor under BenchmarkClassify: kagome IPA
// tokenising, and nothing else, the very strings Classify's analysis hands
// it for the dev corpus (normalised, cut in sentences and chunks; see
// tokenizedChunks), so that Classify/TokenizeOnly is the cost of
// everything but the tokenizer.
func BenchmarkTokenizeOnly(b *testing.B) {
	texts := devTexts(b)
	c := defaultClassifier(b)
	var chunks []string
	for _, t := range texts {
		strs, _ := tokenizedChunks(c, t)
		chunks = append(chunks, strs...)
	}
	for b.Loop() {
		for _, s := range chunks {
			c.an.tok.Tokenize(s)
		}
	}
	b.ReportMetric(float64(len(chunks)), "chunks/op") // after the loop, which resets metrics
}

// BenchmarkClassify is the whole classifier with the default lexicon on the
// dev corpus texts, as sent.
func BenchmarkClassify(b *testing.B) {
	texts := devTexts(b)
	c := defaultClassifier(b)
	for b.Loop() {
		for _, t := range texts {
			if _, err := c.Classify(t); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// defaultClassifier is the embedded default lexicon with default options.
func defaultClassifier(tb testing.TB) *Classifier {
	lex, err := lexicon.Default()
	if err != nil {
		tb.Fatal(err)
	}
	c, err := New(lex, Options{Analyzer: sharedAnalyzer(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
