package classifier

import (
	"testing"
	"unicode"
)

// obfuscationLexicon has a few entries and the kind of substitution table
// the default lexicon ships.
var obfuscationLexicon = map[string]string{
	"threat.yaml": `category: threat
entries:
  - {pattern: 殺す, weight: 1.0}
  - {pattern: 死ね, weight: 1.0}
`,
	"abuse.yaml": `category: abuse
entries:
  - {pattern: 無能, weight: 1.0}
  - {pattern: バカ, weight: 0.6}
  - {pattern: クズ, weight: 1.0}
`,
	"substitutions.yaml": `substitutions:
  - {from: 氏ね, to: 死ね}
  - {from: タヒね, to: 死ね}
  - {from: ○ね, to: 死ね}
  - {from: 〇ね, to: 死ね}
  - {from: 4ね, to: 死ね}
  - {from: 56す, to: 殺す}
  - {from: 殺ス, to: 殺す}
  - {from: shine, to: 死ね}
`,
}

func TestObfuscations(t *testing.T) {
	c := newTest(t, obfuscationLexicon, Options{})
	tests := []struct {
		name, text, entry, matched string
	}{
		{"half-width katakana ｼﾈ", "ｼﾈ", "死ね", "ｼﾈ"},
		{"katakana シネよ", "シネよ", "死ね", "シネ"},
		{"hiragana しね", "しね", "死ね", "しね"},
		{"substitution 氏ね", "お前なんか氏ね", "死ね", "氏ね"},
		{"substitution タヒね", "タヒね", "死ね", "タヒね"},
		{"half-width ﾀﾋね reaches the substitution through NFKC", "ﾀﾋね", "死ね", "ﾀﾋね"},
		{"circle 〇ね", "〇ね", "死ね", "〇ね"},
		{"digit 4ね", "4ね", "死ね", "4ね"},
		{"space inside a word し ね", "し ね", "死ね", "し ね"},
		{"dot inside a word 死.ね", "死.ね", "死ね", "死.ね"},
		{"dot inside a word before punctuation", "殺.す。絶対に", "殺す", "殺.す"},
		{"zero-width space inside a word", "死\u200bね", "死ね", "死\u200bね"},
		{"stretched vowel しねええええ", "しねええええ", "死ね", "しねええええ"},
		{"hiragana ころす", "ころす", "殺す", "ころす"},
		{"katakana ｺﾛｽ", "ｺﾛｽぞ", "殺す", "ｺﾛｽ"},
		{"kanji lookalike コ口ス", "コ口スぞ", "殺す", "コ口ス"},
		{"digits 56す", "56す", "殺す", "56す"},
		{"katakana okurigana 殺ス", "殺ス", "殺す", "殺ス"},
		{"katakana stem with hiragana okurigana", "ぶっコロしてやる", "殺す", "コロし"},
		{"long vowel inside hiragana ばーか", "ばーーか", "バカ", "ばーーか"},
		{"wave dash inside katakana バ〜〜カ", "バ〜〜カ", "バカ", "バ〜〜カ"},
		{"kanji spelling of a kana noun 馬鹿", "馬鹿じゃないの", "バカ", "馬鹿"},
		{"spaced letters む の う", "む の う", "無能", "む の う"},
		{"hiragana くず", "くずが", "クズ", "くず"},
		{"romaji as a whole word", "お前らまとめてSHINE", "死ね", "SHINE"},
		{"a substitution is read as its own word after a noun", "担当〇ね", "死ね", "〇ね"},
		{"a spelt-out word after a longer word", "お前ら全員 し ね", "死ね", "し ね"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Classify(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := matchOf(r, tt.entry); ok {
				if m.Text != tt.matched {
					t.Errorf("matched %q [%d,%d), want %q", m.Text, m.Start, m.End, tt.matched)
				}
				if got := string([]rune(tt.text)[m.Start:m.End]); got != m.Text {
					t.Errorf("span [%d,%d) is %q in the text, match says %q", m.Start, m.End, got, m.Text)
				}
				return
			}
			x, _ := c.Explain(tt.text)
			t.Errorf("%q: no %s match; normalised %q, tokens %+v", tt.text, tt.entry, x.Normalized, x.Tokens)
		})
	}
}

func TestInnocentLookalikesStayQuiet(t *testing.T) {
	c := newTest(t, obfuscationLexicon, Options{})
	for _, text := range []string{
		"殺虫剤はありますか",
		"注文が殺到しているようですね",
		"ケーキを2024年に買いました",
		"カードが使えません",
		"すごーい、ありがとう〜",
		"山田氏にお伝えください",
		"I want a refund.",
		"1〜2週間かかります",
		"the sunshine collection is lovely",
		"メールしてやっと返事が来ました",
		"Do you ship Shine Muscat gift boxes?",
	} {
		r, err := c.Classify(text)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Matches) > 0 {
			t.Errorf("%q matched %+v", text, r.Matches)
		}
	}
}

func TestNormalizeKeepsEnglishAndNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"I want a refund": "i want a refund",
		"１０００円":           "1000円",
		"18時〜20時":         "18時〜20時",
		"ケーキ":             "ケーキ",
		"ありがとうございますーーー": "ありがとうございます",
		"！！！": "!",
		// いい after a kana of the i row is the adjective, not a stretch.
		"本当にいい加減にして": "本当にいい加減にして",
		"気持ちいい":      "気持ちいい",
		"体にいいいいです":   "体にいいです",
		"しねええ":       "しね",
		"しにいい":       "しにいい",
	} {
		if got := normalize(in, nil, sharedAnalyzer(t).isWord, nil).String(); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSeparatorsPastIdeographicSpace holds isSeparator's shortcut to the
// Unicode tables: between U+3001 and U+FDFF, kana and kanji among them,
// the middle dot is the only separator, no format or control character.
func TestSeparatorsPastIdeographicSpace(t *testing.T) {
	for r := rune(0x3001); r < 0xFE00; r++ {
		if r == '・' {
			continue
		}
		if unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Cc, r) {
			t.Errorf("%U is a format or control character: isSeparator must look it up", r)
		}
	}
	if !isSeparator('・') || isSeparator('あ') || !isSeparator('\u200b') || !isSeparator('　') {
		t.Error("isSeparator: ・, zero-width space and ideographic space separate; あ does not")
	}
}
