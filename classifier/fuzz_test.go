package classifier

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClassify: classification never panics; it refuses invalid UTF-8 and
// empty text with an error, and otherwise returns a verdict whose spans lie
// inside the original text on rune boundaries and quote it exactly, and
// which Explain (fresh memory, no reuse) repeats exactly; pruning patterns
// by the words a sentence lacks changes no match.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"殺すぞ", "ｼﾈ", "し ね", "死.ね", "しねええええ", "ばーーか", "コ口ス", "56す", "氏ね",
		"ｶﾞｯｶﾘ 😡🔥", "「殺すぞ」と言われた", "返金しなければ晒す", "脅すつもりはないのですが",
		"ＡＢＣ１２３", "\u200bし\u200dね", "ｱｱｱｱｱｱｱｱｱｱｱ", "\xff\xfe", "あ\x80い", "", " ", "〜〜〜", "ーー",
		"「「「", "」」」", "\"quoted\"", "。。。！！！", "殺" + string(rune(0x3099)),
		// The lexicon-aware stages: cut unknown words, joined letters,
		// wordplay digits, broken-off stems, endings and adjuncts.
		"ｼﾈｶｽ", "コロスコロス", "お前ら全員死ね。", "むのうはさっさとしね", "56されたいの？", "ぶっ殺",
		"無脳", "殺\x00す\x00ぞ", "待っとけ", "消えてしまえ", "包丁持ってそっちの事務所に行ってやるよ",
		"金返せクソが", "何が起きても知らんぞ", "いずれにしろ、", "4ね4ね4ね", "56", "5", "ぶっ",
	} {
		f.Add(s)
	}
	c := defaultClassifier(f)
	f.Fuzz(func(t *testing.T, text string) {
		r, err := c.Classify(text)
		if !utf8.ValidString(text) {
			if err == nil {
				t.Fatal("invalid UTF-8 classified")
			}
			return
		}
		if err != nil {
			if c.Validate(text) == nil {
				t.Fatalf("Classify failed on text Validate accepts: %v", err)
			}
			return
		}
		if r.Label < Routine || r.Label > Harassment {
			t.Fatalf("label %v", r.Label)
		}
		if r.Score < 0 || r.Score > 1 {
			t.Fatalf("score %v", r.Score)
		}
		runes := []rune(text)
		for _, m := range r.Matches {
			if m.Start < 0 || m.End > len(runes) || m.Start > m.End {
				t.Fatalf("span [%d,%d) outside %d runes", m.Start, m.End, len(runes))
			}
			if got := string(runes[m.Start:m.End]); got != m.Text {
				t.Fatalf("span [%d,%d) is %q, match says %q", m.Start, m.End, got, m.Text)
			}
			if m.Weight < 0 || m.Weight > 1 {
				t.Fatalf("weight %v", m.Weight)
			}
		}
		x, err := c.Explain(text)
		if err != nil {
			t.Fatalf("Explain failed where Classify did not: %v", err)
		}
		if !reflect.DeepEqual(x.Result, r) {
			t.Fatalf("Classify, reusing buffers, and Explain disagree:\n%+v\n%+v", r, x.Result)
		}
		checkPruning(t, c, text)
	})
}

// checkPruning fails t unless find gives the same matches with and
// without pruning by the words a sentence lacks (see gates) on text.
func checkPruning(t *testing.T, c *Classifier, text string) {
	t.Helper()
	an := c.an.analyze(text, c.subs, nil)
	sc := c.getScratch()
	pruned := slices.Clone(c.find(an.tokens, sc, true))
	c.putScratch(sc, len(an.tokens))
	sc = c.getScratch()
	all := c.find(an.tokens, sc, false)
	c.putScratch(sc, len(an.tokens))
	if !reflect.DeepEqual(pruned, all) {
		t.Errorf("%q: pruning changed the matches:\n%+v\n%+v", text, pruned, all)
	}
}

// TestPruningChangesNothing: on every labelled corpus at hand and every
// lexicon example, find gives the same matches with and without pruning.
func TestPruningChangesNothing(t *testing.T) {
	c := defaultClassifier(t)
	files, _ := filepath.Glob("testdata/probes*.jsonl")
	files = append(files, "../../shared/eval/dev.jsonl") // when beside the repository
	var texts []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var m struct{ Text string }
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			texts = append(texts, m.Text)
		}
	}
	for _, e := range c.Lexicon().Entries {
		texts = append(append(texts, e.Examples...), e.CounterExamples...)
	}
	if len(texts) < 1000 {
		t.Fatalf("only %d texts", len(texts))
	}
	for _, text := range texts {
		checkPruning(t, c, text)
	}
}
