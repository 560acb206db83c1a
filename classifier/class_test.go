package classifier

import (
	"maps"
	"regexp"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

const classLexicon = `category: abuse
classes:
  - name: insult
    toxicity: 0.9
    words: [クズ, カス, バカ, クソ野郎, 人間のクズ]
    counter_examples: [糸くずが付いていました]
  - name: addressee
    words: [お前, てめえ, あんた, "{staff}"]
  - name: staff
    words: [店員, 担当者]
entries:
  - pattern: "{addressee}…{insult}"
    weight: 1
`

func classClassifier(t *testing.T, yaml string) *Classifier {
	t.Helper()
	lex, err := lexicon.Load(fstest.MapFS{"abuse.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(lex, Options{Analyzer: sharedAnalyzer(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A frame over classes matches every choice of their words, one-word and
// many-word members alike, in every spelling a pattern word has.
func TestClassFrame(t *testing.T) {
	c := classClassifier(t, classLexicon)
	for _, tc := range []struct {
		text, want string // want: the matched text, "" for none
	}{
		{"お前はクズだ", "お前はクズ"},
		{"てめえみたいなカスが", "てめえみたいなカス"},
		{"あんたはほんとにバカ", "あんたはほんとにバカ"},
		{"あんた馬鹿じゃないの", "あんた馬鹿"},       // kanji spelling of a kana noun
		{"お前みたいなクソ野郎は", "お前みたいなクソ野郎"}, // a many-word member
		{"担当者は人間のクズですね", "担当者は人間のクズ"}, // a class taken in by another
		{"オマエはクズ", "オマエはクズ"},          // the pattern word by reading
		{"お前の服に糸くずが付いていた", ""},        // くず in a compound is no insult
		{"お前はどう思う？クズ野菜の話", ""},        // the frame does not cross a sentence
		{"クズ野菜を使ったスープです", ""},         // no addressee
		{"店員さんが親切でした", ""},            // no insult
	} {
		r, err := c.Classify(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(r.Matches) > 0 {
			got = r.Matches[0].Text
		}
		if got != tc.want {
			t.Errorf("%q: matched %q, want %q (%+v)", tc.text, got, tc.want, r.Matches)
		}
	}
}

// Toxicity counts a class word whoever it is aimed at, where the label
// needs a frame: an insult about a third party is toxic, not harassment.
func TestClassToxicity(t *testing.T) {
	c := classClassifier(t, classLexicon)
	for _, tc := range []struct {
		text  string
		tox   float64
		label Label
	}{
		{"隣の人はほんとにクズだった", 0.9, Routine},
		{"あいつはクソ野郎だ", 0.9, Routine},
		{"お前はクズだ", 0.9, Harassment},
		{"糸くずが付いていました", 0, Routine},
		{"ご対応ありがとうございました", 0, Routine},
	} {
		r, err := c.Classify(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Toxicity[lexicon.Abuse]; got != tc.tox || r.Label != tc.label {
			t.Errorf("%q: toxicity %v label %v, want %v %v", tc.text, got, r.Label, tc.tox, tc.label)
		}
	}
}

// A kana word the tokenizer reads as a conjugated verb would match every
// form of that verb: New refuses it and says what it reads as.
func TestClassWordReadAsVerbForm(t *testing.T) {
	lex, err := lexicon.Load(fstest.MapFS{"abuse.yaml": {Data: []byte("category: abuse\nclasses:\n  - name: slur\n    words: [めくら]\nentries:\n  - {pattern: '{slur}', weight: 1}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(lex, Options{Analyzer: sharedAnalyzer(t)})
	if err == nil || !regexp.MustCompile(`word "めくら" reads as a form of the verb めくる`).MatchString(err.Error()) {
		t.Errorf("err = %v", err)
	}
}

// An allow phrase clears the words it covers for any match that ends on
// them: a frame that reaches back to a second person does not make the
// idiom バカにする an insult.
func TestAllowClearsFrameEnd(t *testing.T) {
	c := classClassifier(t, classLexicon+"allow:\n  - バカにする\n")
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"あんたは私をバカにしてるんですか", false},
		{"あんたはバカですか", true},
	} {
		r, err := c.Classify(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Matches) > 0; got != tc.want {
			t.Errorf("%q: matched %v, want %v (%+v)", tc.text, got, tc.want, r.Matches)
		}
	}
}

// The classes the classifier defines are the ones the lexicon package
// reserves.
func TestBuiltinClasses(t *testing.T) {
	if got := slices.Sorted(maps.Keys(wordClasses)); !slices.Equal(got, lexicon.BuiltinClasses) {
		t.Errorf("wordClasses = %q, lexicon.BuiltinClasses = %q", got, lexicon.BuiltinClasses)
	}
}

func TestNumeralAtLeast(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want bool
	}{
		{"3", 3, true}, {"2", 3, false}, {"10", 10, true}, {"9", 10, false}, {"100", 10, true},
		{"三", 3, true}, {"二", 3, false}, {"十", 10, true}, {"百", 10, true}, {"数", 3, true}, {"数", 10, false},
		{"1,000", 10, true}, {"2.5", 3, false}, {"何", 3, true}, {"何", 10, false}, {"何百", 10, true}, {"", 3, false},
	} {
		if got := numeralAtLeast(tc.s, tc.n); got != tc.want {
			t.Errorf("numeralAtLeast(%q, %d) = %v, want %v", tc.s, tc.n, got, tc.want)
		}
	}
}

// The done mood tells a report of contact done, tried or going on from
// an announcement: an entry that names the other moods skips reports.
func TestDoneMood(t *testing.T) {
	c := classClassifier(t, "category: persistence\nentries:\n  - pattern: 毎日…電話する\n    weight: 1\n    moods: [plain, intent]\n")
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"毎日電話します", true},
		{"毎日電話してやる", true},
		{"毎日電話しますから", true},
		{"毎日電話しました", false},
		{"毎日電話しているのに", false},
		{"毎日電話してるけど", false},
		{"毎日電話してもつながらない", false},
		{"毎日電話したら迷惑ですか", false},
	} {
		r, err := c.Classify(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Matches) > 0; got != tc.want {
			t.Errorf("%q: matched %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestDefaultClassesAreMasked: every class of the default lexicon has a
// bit in the token masks; past maxMasked the rest are looked up at every
// token and prune nothing, which nearly doubled the cost of a pass when
// the lexicon first outgrew 128.
func TestDefaultClassesAreMasked(t *testing.T) {
	c := defaultClassifier(t)
	if n := len(c.classes); n > maxMasked {
		t.Errorf("the default lexicon has %d classes, the masks hold %d: raise maxMasked", n, maxMasked)
	}
}
