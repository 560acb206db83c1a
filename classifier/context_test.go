package classifier

import (
	"reflect"
	"testing"
)

func TestContextModifiers(t *testing.T) {
	c := newTest(t, map[string]string{
		"threat.yaml": `category: threat
entries:
  - {pattern: 脅す, weight: 0.6}
  - {pattern: 殺す, weight: 1.0}
`,
		"exposure.yaml": `category: exposure
entries:
  - {pattern: 晒す, weight: 0.6}
`,
		"abuse.yaml": `category: abuse
entries:
  - {pattern: ボケ, weight: 0.8}
  - {pattern: バカ, weight: 0.8}
  - {pattern: 先輩…バカ, weight: 0.9}
`,
		"escalation.yaml": `category: escalation
entries:
  - {pattern: 訴える, weight: 0.6}
  - {pattern: 誠意…対応, weight: 0.6}
  - {pattern: 泣き寝入り, weight: 0.6}
`,
	}, Options{})
	tests := []struct {
		name  string
		text  string
		entry string
		mods  []Modifier
		label Label
	}{
		{"a hedge lowers what it governs: 脅すつもりはない", "脅すつもりはないのですが、交換してください", "脅す", []Modifier{Hedged}, Routine},
		{"a hedge in keigo softens harassment: 脅すとかそういう話ではありません", "脅すとかそういう話ではありませんが", "脅す", []Modifier{Hedged}, Routine},
		{"a hedged legal step stays an escalation cue", "訴えるつもりはありませんが", "訴える", nil, Escalate},
		{"a denied giving-up is a resolve", "泣き寝入りするつもりはありません", "泣き寝入り", nil, Escalate},
		{"a negated verb is no threat: 殺さないで", "猫を殺さないでください", "殺す", []Modifier{Negated}, Routine},
		{"a desiderative conditional is no denial: 晒されたくなければ", "晒されたくなければ返金しろ", "晒す", []Modifier{Conditional}, Harassment},
		{"a conditional threat is coercion: 〜しなければ晒す", "返金しなければネットで晒す", "晒す", []Modifier{Conditional}, Harassment},
		{"しなきゃ is a condition", "返金しなきゃネットで晒す", "晒す", []Modifier{Conditional}, Harassment},
		{"次第では is a condition", "ご回答次第ではネットで晒す", "晒す", []Modifier{Conditional}, Harassment},
		{"a clause before 場合 is a condition", "ご返金いただけない場合はネットで晒す", "晒す", []Modifier{Conditional}, Harassment},
		{"場合 after a noun is no condition", "最悪の場合も晒す", "晒す", nil, Escalate},
		{"an intent ending intensifies: 晒してやる", "お前のこと晒してやる", "晒す", []Modifier{Intensified}, Harassment},
		{"ぞ intensifies", "晒すぞ", "晒す", []Modifier{Intensified}, Harassment},
		{"からな intensifies", "晒すからな", "晒す", []Modifier{Intensified}, Harassment},
		{"a plain mention is neither", "晒す", "晒す", nil, Escalate},
		{"a match that ends inside a quotation reported once it closes is reported", "先輩に『あいつは本当にバカな奴だ』って言われました", "先輩…バカ", []Modifier{Reported}, Routine},
		{"a quoted threat said to the customer is a complaint for a senior handler", "配達員に「殺すぞ」と言われて怖かったです", "殺す", []Modifier{Quoted, Addressed}, Escalate},
		{"a quoted threat not said to the customer is someone else's", "映画で「殺すぞ」という台詞がありました", "殺す", []Modifier{Quoted}, Routine},
		{"reported abuse the shop's staff said to the customer", "店員に次は置いてかねえぞ、ボケと言われました", "ボケ", []Modifier{Reported, Addressed}, Escalate},
		{"reported abuse family said to the customer is not the shop's", "兄に「バカか」って言われたけど良い買い物でした", "バカ", []Modifier{Quoted}, Routine},
		{"an apology for another's words", "母がバカなどと言ってしまい申し訳ありません", "バカ", []Modifier{Reported}, Routine},
		{"an escalation cue thanked for is praise", "誠意あるご対応をありがとうございました", "誠意…対応", []Modifier{Thanked}, Routine},
		{"a question is not a denial: 〜ませんか", "バカすぎませんか", "バカ", nil, Harassment},
		{"話にならん is no hedge", "バカすぎて話にならん", "バカ", nil, Harassment},
		{"the customer's own insistence is not a report", "バカって言ってるんだよ", "バカ", nil, Harassment},
		{"one threatening sentence in a polite mail is still caught", "いつもお世話になっております。\n注文の件です。\n次遅れたら殺すぞ。\nよろしくお願いします。", "殺す", []Modifier{Conditional, Intensified}, Harassment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Classify(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if r.Label != tt.label {
				t.Errorf("label %s, want %s (%+v)", r.Label, tt.label, r.Matches)
			}
			m, ok := matchOf(r, tt.entry)
			if !ok {
				t.Fatalf("no %s match in %+v", tt.entry, r.Matches)
			}
			if !reflect.DeepEqual(m.Modifiers, tt.mods) {
				t.Errorf("modifiers %v, want %v", m.Modifiers, tt.mods)
			}
		})
	}
}

// TestNegationAnEntryMeans: an entry whose moods name negated means the
// negation (後悔なさらないように is a warning), so a negated match is not
// softened; without that mood a negation still denies.
func TestNegationAnEntryMeans(t *testing.T) {
	meant := newTest(t, map[string]string{"x.yaml": "category: threat\nentries:\n  - pattern: 後悔する\n    weight: 0.9\n    moods: [negated]\n"}, Options{})
	plain := newTest(t, oneEntry("threat", "後悔する", "0.9"), Options{})
	text := "ご返答がなければ、後悔なさらないようにお祈りしております"
	if r, _ := meant.Classify(text); r.Label != Harassment {
		t.Errorf("moods [negated]: %q is %v (%+v), want harassment", text, r.Label, r.Matches)
	}
	if r, _ := plain.Classify(text); r.Label == Harassment {
		t.Errorf("no moods: %q is harassment (%+v), want the negation to soften it", text, r.Matches)
	}
	if r, _ := meant.Classify("後悔しています"); len(r.Matches) != 0 {
		t.Errorf("moods [negated]: 後悔しています matched %+v, want nothing", r.Matches)
	}
}

// TestMoodAtPunctuation: the mood a match ends in, where punctuation or
// a misreading used to hide it: a question mark after a plain verb asks
// (IPA reads ASCII ? as a noun, which made the verb attributive), and
// 出すなって (出す|なっ|て to IPA) forbids.
func TestMoodAtPunctuation(t *testing.T) {
	c := newTest(t, map[string]string{"x.yaml": `category: sexual
entries:
  - pattern: 彼氏がいる
    weight: 0.8
    moods: [question]
  - pattern: 前に出す
    weight: 0.8
    moods: [command]
`}, Options{})
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"彼氏いる？", true}, {"彼氏いる?w", true}, {"彼氏いるの？", true}, {"彼氏がいる人は割引", false},
		{"客の前に出すなって", true}, {"前に出すなって言ってんだよ", true}, {"前に出すようになって", false},
	} {
		t.Run(tc.text, func(t *testing.T) {
			r, _ := c.Classify(tc.text)
			if got := len(r.Matches) > 0; got != tc.want {
				t.Errorf("%q: matches %+v, want a match %v", tc.text, r.Matches, tc.want)
			}
		})
	}
}
