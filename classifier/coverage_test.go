package classifier

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

// coverageLexicon has an entry with an unused variant, one that fires
// once, one that never fires, and one whose short pattern loses to its
// longer variant where both match.
const coverageLexicon = `category: abuse
entries:
  - pattern: バカ
    weight: 0.9
    variants: [アホ]
  - pattern: クズ
    weight: 0.9
  - pattern: 役立たず
    weight: 0.9
`

const coverageThreats = `category: threat
entries:
  - pattern: 殺す
    weight: 1.0
    variants: [ぶっ殺す]
`

func TestCoverage(t *testing.T) {
	// abuseNever are the findings when no abuse entry fires.
	abuseNever := func() []string {
		return []string{
			`abuse.yaml:3: abuse entry "バカ" never fires on the corpus`,
			`abuse.yaml:6: abuse entry "クズ" never fires on the corpus`,
			`abuse.yaml:8: abuse entry "役立たず" never fires on the corpus`,
		}
	}
	tests := []struct {
		name     string
		messages []string
		// findings are "FILE:LINE: message"; counts are entries never,
		// once, phrases never, once.
		findings []string
		counts   [4]int
	}{
		{
			name:     "an entry that fires on two messages by its pattern has its unused variant listed",
			messages: []string{"バカじゃないの", "本当にバカ"},
			findings: []string{
				`abuse.yaml:3: abuse entry "バカ" phrase "アホ" never fires on the corpus`,
				`abuse.yaml:6: abuse entry "クズ" never fires on the corpus`,
				`abuse.yaml:8: abuse entry "役立たず" never fires on the corpus`,
				`threat.yaml:3: threat entry "殺す" never fires on the corpus`,
			},
			counts: [4]int{3, 0, 5, 0},
		},
		{
			name:     "an entry that fires on one message is named by that message's file, line and id",
			messages: []string{"ありがとう", "このクズが", "バカだな", "アホか"},
			findings: []string{
				`abuse.yaml:3: abuse entry "バカ" phrase "バカ" fires on one message only, corpus.jsonl:3 (id m3)`,
				`abuse.yaml:3: abuse entry "バカ" phrase "アホ" fires on one message only, corpus.jsonl:4 (id m4)`,
				`abuse.yaml:6: abuse entry "クズ" fires on one message only, corpus.jsonl:2 (id m2)`,
				`abuse.yaml:8: abuse entry "役立たず" never fires on the corpus`,
				`threat.yaml:3: threat entry "殺す" never fires on the corpus`,
			},
			counts: [4]int{2, 1, 3, 3},
		},
		{
			name:     "a pattern that only matches where its longer variant wins the words never fires",
			messages: []string{"お前をぶっ殺す", "絶対にぶっ殺す"},
			findings: append(abuseNever(), `threat.yaml:3: threat entry "殺す" phrase "殺す" never fires on the corpus`),
			counts:   [4]int{3, 0, 5, 0},
		},
		{
			name:     "a phrase counts a message once however often it matches there",
			messages: []string{"殺す殺す殺す", "殺すぞ、ぶっ殺す"},
			findings: append(abuseNever(), `threat.yaml:3: threat entry "殺す" phrase "ぶっ殺す" fires on one message only, corpus.jsonl:2 (id m2)`),
			counts:   [4]int{3, 0, 4, 1},
		},
	}
	c := newTest(t, map[string]string{"abuse.yaml": coverageLexicon, "threat.yaml": coverageThreats}, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cv := NewCoverage(c)
			for i, m := range tt.messages {
				if _, err := cv.Add(m, CorpusLine{File: "corpus.jsonl", Line: i + 1, ID: fmt.Sprintf("m%d", i+1)}); err != nil {
					t.Fatal(err)
				}
			}
			rep := cv.Report()
			var got []string
			for _, f := range rep.Findings() {
				got = append(got, f.Pos.String()+": "+f.Message())
			}
			if strings.Join(got, "\n") != strings.Join(tt.findings, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.findings, "\n"))
			}
			counts := [4]int{rep.EntriesNever, rep.EntriesOnce, rep.PhrasesNever, rep.PhrasesOnce}
			if counts != tt.counts || rep.Messages != len(tt.messages) || len(rep.Entries) != 4 || rep.Phrases != 6 {
				t.Errorf("counts %v of %d entries, %d phrases, %d messages; want %v of 4, 6, %d",
					counts, len(rep.Entries), rep.Phrases, rep.Messages, tt.counts, len(tt.messages))
			}
			for _, f := range got {
				for _, m := range tt.messages {
					if strings.Contains(f, m) {
						t.Errorf("finding %q prints the text of message %q", f, m)
					}
				}
			}
		})
	}
}

func TestCoverageAllowedMatchDoesNotFire(t *testing.T) {
	c := newTest(t, map[string]string{
		"abuse.yaml": "category: abuse\nentries:\n  - pattern: バカ\n    weight: 0.9\n",
		"allow.yaml": "allow:\n  - バカにされた\n",
	}, Options{})
	cv := NewCoverage(c)
	if _, err := cv.Add("店員にバカにされた", CorpusLine{File: "c", Line: 1}); err != nil {
		t.Fatal(err)
	}
	if rep := cv.Report(); rep.EntriesNever != 1 || rep.PhrasesNever != 1 {
		t.Errorf("entries never %d, phrases never %d; want the allowed バカ counted as not firing", rep.EntriesNever, rep.PhrasesNever)
	}
}

func TestCoverageRefusedTextIsNotCounted(t *testing.T) {
	c := newTest(t, map[string]string{"abuse.yaml": coverageLexicon}, Options{})
	cv := NewCoverage(c)
	if _, err := cv.Add("  ", CorpusLine{File: "c", Line: 1}); !errors.Is(err, ErrEmptyText) {
		t.Errorf("err = %v, want ErrEmptyText", err)
	}
	if rep := cv.Report(); rep.Messages != 0 {
		t.Errorf("%d messages counted, want 0", rep.Messages)
	}
	if got, want := cv.Report().Summary(), "coverage: 0 messages; 3 entries: 3 never fire (100.0%), 0 fire once (0.0%); 4 phrases: 4 never fire (100.0%), 0 fire once (0.0%)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestFormsOf(t *testing.T) {
	lex, err := lexicon.Load(fstest.MapFS{
		"coercion.yaml": {Data: []byte("category: coercion\nentries:\n  - pattern: 土下座しろ\n    weight: 0.9\n    variants: [社長…謝れ, \"{number}回電話\"]\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	forms, err := FormsOf(lex, "土下座しろ", Options{Analyzer: sharedAnalyzer(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(forms) != 1 || forms[0].Pos.String() != "coercion.yaml:3" || len(forms[0].Phrases) != 3 {
		t.Fatalf("forms %+v, want one entry at coercion.yaml:3 with 3 phrases", forms)
	}
	want := map[string][]string{
		"土下座しろ":       {"土下座[lemma 土下座; reading どげざ; spelt どげざ; noun]", "しろ[lemma する; spelt しろ; imperative kana]"},
		"社長…謝れ":       {"社長[lemma 社長; reading しゃちょう; spelt しゃちょう; noun]", "…(≤16 words, same clause)", "謝れ[lemma 謝る; reading あやまる; spelt あやまれ; imperative]"},
		"{number}回電話": {"{number}", "回[", "電話[lemma 電話; reading でんわ; spelt でんわ; noun]"},
	}
	for _, pf := range forms[0].Phrases {
		if pf.Err != "" || len(pf.Patterns) == 0 {
			t.Errorf("phrase %q: %d patterns, error %q", pf.Phrase, len(pf.Patterns), pf.Err)
			continue
		}
		for _, w := range want[pf.Phrase] {
			if !strings.Contains(pf.Patterns[0], w) {
				t.Errorf("phrase %q pattern %q does not have %q", pf.Phrase, pf.Patterns[0], w)
			}
		}
	}

	_, err = FormsOf(lex, "土下座", Options{Analyzer: sharedAnalyzer(t)})
	var ue *UnknownEntryError
	if !errors.As(err, &ue) || len(ue.Close) != 1 || ue.Close[0] != "土下座しろ" {
		t.Fatalf("err = %v, want an UnknownEntryError naming 土下座しろ", err)
	}
	if !strings.Contains(err.Error(), `no entry "土下座"; close: "土下座しろ"`) {
		t.Errorf("error %q does not name the close entry", err)
	}
	_, err = FormsOf(lex, "ありがとう", Options{Analyzer: sharedAnalyzer(t)})
	if !errors.As(err, &ue) || len(ue.Close) != 0 {
		t.Errorf("err = %v, want an UnknownEntryError with nothing close", err)
	}
}
