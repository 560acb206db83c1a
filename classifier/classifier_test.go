package classifier

import (
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

var (
	analyzerOnce sync.Once
	testAnalyzer *Analyzer
)

func sharedAnalyzer(t testing.TB) *Analyzer {
	analyzerOnce.Do(func() {
		a, err := NewAnalyzer()
		if err != nil {
			t.Fatal(err)
		}
		testAnalyzer = a
	})
	return testAnalyzer
}

// newTest compiles a lexicon given as file name → YAML.
func newTest(t testing.TB, files map[string]string, opts Options) *Classifier {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, y := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(y)}
	}
	lex, err := lexicon.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	opts.Analyzer = sharedAnalyzer(t)
	c, err := New(lex, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// matchOf returns the first match of the entry named entry.
func matchOf(r Result, entry string) (Match, bool) {
	for _, m := range r.Matches {
		if m.Entry == entry {
			return m, true
		}
	}
	return Match{}, false
}

// oneEntry is a lexicon of a single entry.
func oneEntry(category, pattern string, weight string) map[string]string {
	return map[string]string{"x.yaml": "category: " + category + "\nentries:\n  - pattern: " + pattern + "\n    weight: " + weight + "\n"}
}

func TestMatching(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		text    string
		want    string // the matched original text, "" for no match
	}{
		{"dictionary form matches te-form", "殺す", "殺してやる", "殺し"},
		{"dictionary form matches plain form before ぞ", "殺す", "殺すぞ", "殺す"},
		{"dictionary form matches passive", "殺す", "殺されたいのか", "殺さ"},
		{"殺虫剤 is not 殺す", "殺す", "殺虫剤はありますか", ""},
		{"殺到 is not 殺す", "殺す", "注文が殺到しています", ""},
		{"multi-token pattern matches in sequence", "会社潰す", "お前の会社潰すぞ", "会社潰す"},
		{"particle in message between pattern words", "会社潰す", "会社を潰す", "会社を潰す"},
		{"particle in pattern is optional", "誠意を見せろ", "誠意見せろ", "誠意見せろ"},
		{"a kana verb matches its kanji spelling", "気をつける", "夜道に気を付けろ", "気を付けろ"},
		{"a kana verb matches its kanji spelling in another form", "なめる", "客を舐めてんのか", "舐め"},
		{"a kana verb does not match a kanji verb read otherwise", "つける", "明かりを点した", ""},
		{"a noun with an honorific prefix is the noun", "気をつける", "お気を付けください", "お気を付け"},
		{"a kana word after お is no prefixed noun: おば is not ば", "場", "おばが来ました", ""},
		{"Kansai へん is ない", "知らない", "そんなん知らへんで", "知らへん"},
		{"Kansai ひん is ない", "できない", "返金できひんの", "できひん"},
		{"western たない is たくない", "痛い目を見たくない", "痛い目見たないやろ", "痛い目見たない"},
		{"a past tense before a noun stays past", "見たくない", "昨日見た内容", ""},
		{"a pattern's last particle may be dropped before a verb", "本社に", "本社行くから", "本社"},
		{"a dropped last particle needs the verb right after", "本社に", "本社の住所", ""},
		{"a pattern's last particle may be dropped before a verb: を", "誠意を", "誠意見せろ", "誠意"},
		{"imperative pattern matches imperative", "返金しろ", "さっさと返金しろよ", "返金しろ"},
		{"imperative pattern skips polite request", "返金しろ", "返金してください", ""},
		{"imperative pattern skips plain statement", "返金しろ", "返金します", ""},
		{"godan imperative misread as potential is imperative", "金返せ", "金返せや", "金返せ"},
		{"potential verb negated is not imperative", "金返せ", "お金を返せないそうです", ""},
		{"死ね pattern matches 死ねよ", "死ね", "死ねよ", "死ね"},
		{"死ね pattern does not match 死ぬほど", "死ね", "死ぬほど疲れた", ""},
		{"やがれ makes an imperative", "謝りに来い", "謝りに来やがれ", "謝りに来"},
		{"gap spans inserted words", "誠意…見せろ", "誠意ってものを見せろ", "誠意ってものを見せろ"},
		{"gap does not cross sentences", "誠意…見せろ", "誠意はない。見せろ", ""},
		{"half-width katakana is read", "クズ", "ｸｽﾞが", "ｸｽﾞ"},
		{"hiragana matches katakana pattern", "クズ", "くずだな", "くず"},
		{"full-width latin is read", "shine", "ＳＨＩＮＥ", "ＳＨＩＮＥ"},
		{"a noun does not match as the head of a compound: 糸くず", "クズ", "糸くずフィルターをください", ""},
		{"a noun does not match after a noun prefix: 親バカ", "バカ", "親バカですみません", ""},
		{"a noun still matches after a particle", "クズ", "お前はクズだ", "クズ"},
		{"a noun still matches after a pronoun", "クズ", "お前クズだな", "クズ"},
		{"an emoji is a word of its own", "🔪", "返金まだ？🔪🔪🔪🏠🔥", "🔪🔪🔪"},
		{"a humble keigo verb matches its plain pattern", "電話します", "毎日お電話いたします", "電話いたします"},
		{"an honorific visit matches 行く", "本社に行く", "本社に伺います", "本社に伺い"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTest(t, oneEntry("threat", tt.pattern, "1.0"), Options{})
			r, err := c.Classify(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(r.Matches) > 0 {
				got = r.Matches[0].Text
			}
			if got != tt.want {
				t.Errorf("Classify(%q) matched %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestSpansAreOriginalCodePoints(t *testing.T) {
	c := newTest(t, oneEntry("abuse", "無能", "0.9"), Options{})
	// Half-width kana (two code points become one after NFKC) before the match.
	text := "ｶﾞｯｶﾘ、ＡＢＣ😡 本当に無能"
	r, err := c.Classify(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Matches) != 1 {
		t.Fatalf("matches = %+v", r.Matches)
	}
	m := r.Matches[0]
	runes := []rune(text)
	if got := string(runes[m.Start:m.End]); got != "無能" || m.Text != "無能" {
		t.Errorf("span [%d,%d) = %q, text %q; want 無能", m.Start, m.End, got, m.Text)
	}
}

func TestScoringAndLabels(t *testing.T) {
	lex := map[string]string{
		"abuse.yaml": `category: abuse
entries:
  - {pattern: 無能, weight: 1.0}
  - {pattern: バカ, weight: 0.6}
  - {pattern: アホ, weight: 0.6}
`,
		"escalation.yaml": `category: escalation
entries:
  - {pattern: 責任者, weight: 0.7}
  - {pattern: 残念, weight: 0.3}
`,
		"allow.yaml": "allow:\n  - バカ売れ\n",
	}
	tests := []struct {
		name  string
		text  string
		label Label
		score float64
	}{
		{"a weight 1.0 harassment entry decides alone", "無能だな", Harassment, 1},
		{"one weak harassment cue is escalate", "バカか", Escalate, 0.6},
		{"two weak harassment cues combine to harassment", "バカかアホか", Harassment, 0.84},
		{"the same entry twice counts once", "バカだ、バカ", Escalate, 0.6},
		{"escalation alone is escalate with no harassment score", "責任者を出してください", Escalate, 0},
		{"a cue under the escalate threshold is routine", "残念です", Routine, 0},
		{"no match is routine", "発送はいつですか", Routine, 0},
		{"an allow phrase silences what it contains", "この商品はバカ売れですね", Routine, 0},
	}
	c := newTest(t, lex, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Classify(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if r.Label != tt.label || r.Score != tt.score {
				t.Errorf("Classify(%q) = %s %.4f, want %s %.4f (matches %+v)", tt.text, r.Label, r.Score, tt.label, tt.score, r.Matches)
			}
			if r.LexiconVersion != c.Lexicon().Version || r.LexiconVersion == "" {
				t.Errorf("lexicon version %q", r.LexiconVersion)
			}
		})
	}
}

func TestThresholdsAreConfigurable(t *testing.T) {
	lex := oneEntry("abuse", "バカ", "0.6")
	strict := newTest(t, lex, Options{HarassmentThreshold: 0.5})
	if r, _ := strict.Classify("バカか"); r.Label != Harassment {
		t.Errorf("threshold 0.5: label %s, want harassment", r.Label)
	}
	lenient := newTest(t, lex, Options{EscalateThreshold: 0.7})
	if r, _ := lenient.Classify("バカか"); r.Label != Routine {
		t.Errorf("escalate threshold 0.7: label %s, want routine", r.Label)
	}
	if _, err := New(&lexicon.Set{}, Options{HarassmentThreshold: 1.5, Analyzer: sharedAnalyzer(t)}); err == nil {
		t.Error("threshold 1.5 accepted")
	}
}

func TestOverlappingMatchesInOneCategoryCountOnce(t *testing.T) {
	c := newTest(t, map[string]string{"t.yaml": `category: threat
entries:
  - {pattern: 殺す, weight: 0.6}
  - {pattern: 殺してやる, weight: 0.9}
`}, Options{})
	r, err := c.Classify("殺してやる")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Matches) != 1 || r.Matches[0].Entry != "殺してやる" || r.Score != 0.9 {
		t.Errorf("got %+v score %v; want only the heavier 殺してやる", r.Matches, r.Score)
	}
}

func TestBadInput(t *testing.T) {
	c := newTest(t, oneEntry("abuse", "無能", "1"), Options{MaxTextBytes: 32})
	var tooLong *TooLongError
	if _, err := c.Classify(strings.Repeat("あ", 11)); !errors.As(err, &tooLong) || tooLong.Got != 33 || tooLong.Max != 32 {
		t.Errorf("33 bytes: err %v, want TooLongError{33, 32}", err)
	}
	var bad *InvalidUTF8Error
	if _, err := c.Classify("ok\xffno"); !errors.As(err, &bad) || bad.Offset != 2 {
		t.Errorf("invalid UTF-8: err %v, want InvalidUTF8Error at 2", err)
	}
	for _, empty := range []string{"", " \n\t　"} {
		if _, err := c.Classify(empty); !errors.Is(err, ErrEmptyText) {
			t.Errorf("Classify(%q) err %v, want ErrEmptyText", empty, err)
		}
	}
}

func TestCompileErrorsNameTheEntry(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("category: abuse\nentries:\n  - pattern: 無能\n    weight: 1\n  - pattern: …無能\n    weight: 1\n  - pattern: 。！\n    weight: 1\n")}}
	lex, err := lexicon.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(lex, Options{Analyzer: sharedAnalyzer(t)})
	var all interface{ Unwrap() []error }
	if !errors.As(err, &all) || len(all.Unwrap()) != 2 {
		t.Fatalf("err = %v, want two compile errors", err)
	}
	var le *lexicon.Error
	if !errors.As(all.Unwrap()[0], &le) || le.Pos.Line != 5 {
		t.Errorf("first error %v, want at a.yaml:5", all.Unwrap()[0])
	}
}

func TestLabelNames(t *testing.T) {
	for _, l := range []Label{Routine, Escalate, Harassment} {
		got, err := ParseLabel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLabel(%q) = %v, %v", l.String(), got, err)
		}
	}
	if _, err := ParseLabel("unspecified"); err == nil {
		t.Error("unspecified parsed as a verdict")
	}
}

func TestWordClasses(t *testing.T) {
	c := newTest(t, map[string]string{
		"persistence.yaml": "category: persistence\nentries:\n  - {pattern: '{number}回…電話する', weight: 0.9}\n",
		"coercion.yaml":    "category: coercion\nentries:\n  - {pattern: '{command}', weight: 0.5}\n",
	}, Options{})
	tests := []struct {
		name, text, entry, want string
	}{
		{"{number} matches digits", "毎日100回電話してやる", "{number}回…電話する", "100回電話し"},
		{"{number} matches kanji numerals", "百回電話するからな", "{number}回…電話する", "百回電話する"},
		{"{number} matches a numeral of several tokens", "五十回電話するからな", "{number}回…電話する", "五十回電話する"},
		{"{command} matches an imperative", "早く送れや", "{command}", "送れ"},
		{"{command} matches a prohibition", "二度と連絡してくるな", "{command}", "くる"},
		{"{command} matches やがれ", "さっさと来やがれ", "{command}", "来"},
		{"{command} skips ください", "送ってください", "{command}", ""},
		{"{command} skips なさい", "早く送りなさい", "{command}", ""},
		{"{command} skips 〜てくれ", "早く送ってくれ", "{command}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Classify(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if m, ok := matchOf(r, tt.entry); ok {
				got = m.Text
			}
			if got != tt.want {
				t.Errorf("%q: %s matched %q, want %q (%+v)", tt.text, tt.entry, got, tt.want, r.Matches)
			}
		})
	}
	// Load refuses a class no file defines; a set built by hand meets the
	// same refusal in New.
	if _, err := lexicon.Load(fstest.MapFS{"x.yaml": {Data: []byte("category: abuse\nentries:\n  - {pattern: '{noun}だ', weight: 1}\n")}}); err == nil ||
		!strings.Contains(err.Error(), "uses class {noun}, which no file defines") {
		t.Errorf("unknown class: Load err %v", err)
	}
	byHand := &lexicon.Set{Entries: []lexicon.Entry{{Category: lexicon.Abuse, Pattern: "{noun}だ", Weight: 1}}}
	if _, err := New(byHand, Options{Analyzer: sharedAnalyzer(t)}); err == nil || !strings.Contains(err.Error(), "unknown word class {noun}") {
		t.Errorf("unknown class: New err %v", err)
	}
}

func mustLoad(t *testing.T, yaml string) *lexicon.Set {
	t.Helper()
	lex, err := lexicon.Load(fstest.MapFS{"x.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	return lex
}

// TestScratchKeepsNoHugeBuffers: after a message of the largest size, the
// scratch that goes back to the pool holds no buffer sized for it; after
// an ordinary one it keeps its buffers.
func TestScratchKeepsNoHugeBuffers(t *testing.T) {
	c := defaultClassifier(t)
	for _, tc := range []struct {
		text string
		kept bool
	}{
		{"注文した商品が届きません。確認してください。", true},
		{strings.Repeat("注文した商品が届きません。", 60<<10/40), false},
	} {
		sc := c.getScratch()
		an := c.an.analyze(tc.text, c.subs, &sc.buffers)
		sc.tokens = an.tokens[:0]
		sc.trim()
		if kept := sc.tokens != nil && sc.norm.a.runes != nil; kept != tc.kept {
			t.Errorf("%d runes: buffers kept %v, want %v (tokens cap %d, runes cap %d)",
				len([]rune(tc.text)), kept, tc.kept, cap(sc.tokens), cap(sc.norm.a.runes))
		}
	}
}

// New builds the same classifier from the same lexicon every time: what
// it derives from the compiled patterns does not depend on map order (it
// once read 来やがれ as a command on some starts and not on others).
func TestNewIsDeterministic(t *testing.T) {
	lex, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	var first *Classifier
	for i := 0; i < 6; i++ {
		c, err := New(lex, Options{Analyzer: sharedAnalyzer(t)})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = c
			continue
		}
		if !maps.Equal(c.subs.forms.stems, first.subs.forms.stems) {
			t.Fatalf("build %d: kanji stems differ from the first build's", i)
		}
		r, _ := c.Classify("来やがれ")
		if _, ok := matchOf(r, "謝りに来い"); !ok {
			t.Fatalf("build %d: 来やがれ is not read as a command: %+v", i, r.Matches)
		}
	}
}
