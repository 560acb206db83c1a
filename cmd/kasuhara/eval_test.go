package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/evaluation"
)

const evalLexicon = "testdata/eval/lexicon" // threat 殺す 1.0, abuse 無能 0.9, escalation 責任者 0.7

// TestEvalScores checks eval's figures against ones worked out by hand from
// each corpus's confusion matrix.
func TestEvalScores(t *testing.T) {
	tests := []struct {
		name      string
		corpus    string
		confusion map[string]map[string]int
		perLabel  map[string]evaluation.LabelScores
		macroF1   float64
		r2h       float64
		wrong     []string // ids of misclassified messages, in corpus order
	}{
		{
			name:   "every label has support",
			corpus: "testdata/eval/corpus.jsonl",
			confusion: map[string]map[string]int{
				"routine":    {"routine": 3, "escalate": 1, "harassment": 0},
				"escalate":   {"routine": 1, "escalate": 1, "harassment": 0},
				"harassment": {"routine": 1, "escalate": 1, "harassment": 2},
			},
			perLabel: map[string]evaluation.LabelScores{
				// tp 3, fp 1+1, fn 1: P 3/5, R 3/4, F1 2PR/(P+R) = 0.9/1.35
				"routine": {Precision: 0.6, Recall: 0.75, F1: 2.0 / 3, Support: 4},
				// tp 1, fp 1+1, fn 1: P 1/3, R 1/2, F1 (1/3)/(5/6)
				"escalate": {Precision: 1.0 / 3, Recall: 0.5, F1: 0.4, Support: 2},
				// tp 2, fp 0, fn 1+1: P 1, R 1/2, F1 1/1.5
				"harassment": {Precision: 1, Recall: 0.5, F1: 2.0 / 3, Support: 4},
			},
			macroF1: (2.0/3 + 0.4 + 2.0/3) / 3,
			wrong:   []string{"h3", "h4", "e2", "r3"},
		},
		{
			name:   "a label without gold support is left out of macro-F1",
			corpus: "testdata/eval/no-escalate.jsonl",
			confusion: map[string]map[string]int{
				"routine":    {"routine": 1, "escalate": 1, "harassment": 1},
				"escalate":   {"routine": 0, "escalate": 0, "harassment": 0},
				"harassment": {"routine": 0, "escalate": 1, "harassment": 1},
			},
			perLabel: map[string]evaluation.LabelScores{
				"routine":    {Precision: 1, Recall: 1.0 / 3, F1: 0.5, Support: 3},
				"escalate":   {Precision: 0, Recall: 0, F1: 0, Support: 0}, // predicted twice, never right
				"harassment": {Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2},
			},
			macroF1: 0.5, // (0.5 + 0.5) / 2, not / 3
			r2h:     1.0 / 3,
			wrong:   []string{"h2", "r2", "r3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runEval(context.Background(), []string{"--lexicon", evalLexicon, "--corpus", tt.corpus, "--json"}, nil, &out, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			var got evaluation.Report
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, out.String())
			}
			for gold, row := range tt.confusion {
				for pred, n := range row {
					if got.Confusion[gold][pred] != n {
						t.Errorf("confusion[%s][%s] = %d, want %d", gold, pred, got.Confusion[gold][pred], n)
					}
				}
			}
			for label, w := range tt.perLabel {
				g, ok := got.PerLabel[label]
				if !ok {
					t.Errorf("per_label has no %s", label)
				}
				if !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) || g.Support != w.Support {
					t.Errorf("%s: got %+v, want %+v", label, g, w)
				}
			}
			if !near(got.MacroF1, tt.macroF1) {
				t.Errorf("macro_f1 = %v, want %v", got.MacroF1, tt.macroF1)
			}
			if !near(got.RoutineToHarassment, tt.r2h) {
				t.Errorf("routine_to_harassment = %v, want %v", got.RoutineToHarassment, tt.r2h)
			}
			var wrong []string
			for _, m := range got.Misclassified {
				wrong = append(wrong, evaluation.IDString(m.ID))
			}
			if strings.Join(wrong, " ") != strings.Join(tt.wrong, " ") {
				t.Errorf("misclassified %q, want %q", wrong, tt.wrong)
			}
			if got.LexiconVersion == "" {
				t.Error("no lexicon_version")
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestEvalMisclassifiedShowEntriesAndExcerpt(t *testing.T) {
	var out bytes.Buffer
	err := runEval(context.Background(), []string{"--lexicon", evalLexicon, "--corpus", "testdata/eval/corpus.jsonl", "--json"}, nil, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var got evaluation.Report
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	byID := map[string]evaluation.Misclassified{}
	for _, m := range got.Misclassified {
		byID[evaluation.IDString(m.ID)] = m
	}
	r3 := byID["r3"]
	if r3.Gold != "routine" || r3.Predicted != "escalate" || r3.Line != 10 {
		t.Errorf("r3 = %+v, want gold routine, predicted escalate, line 10", r3)
	}
	if n := len([]rune(r3.Text)); n != 60 || !strings.HasPrefix(r3.Text, "いつもお世話になっております。") {
		t.Errorf("r3 text %q (%d characters), want the first 60", r3.Text, n)
	}
	if len(r3.Matches) != 1 || r3.Matches[0].Entry != "責任者" || r3.Matches[0].Weight != 0.7 || r3.Matches[0].Category != "escalation" {
		t.Errorf("r3 matches = %+v, want escalation 責任者 0.7", r3.Matches)
	}
	if h4 := byID["h4"]; len(h4.Matches) != 0 || h4.Predicted != "routine" {
		t.Errorf("h4 = %+v, want routine with no matches", h4)
	}

	out.Reset()
	err = runEval(context.Background(), []string{"--lexicon", evalLexicon, "--corpus", "testdata/eval/corpus.jsonl"}, nil, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"label         prec    rec     f1     n\nroutine      0.600  0.750  0.667     4\n",
		"               routine   escalate harassment\nroutine              3          1          0\n",
		"misclassified: 4 of 10\n",
		"h3 (line 3): gold harassment, predicted escalate, score 0.0000\n  \"責任者を出せ、今すぐだ\"\n  escalation \"責任者\" on \"責任者\" [0,3) weight 0.70\n",
		"h4 (line 4): gold harassment, predicted routine, score 0.0000\n  \"ちゃんとしろよ、こっちは客だぞ\"\n  (no entry fired)\n",
		"教えていただ\"…\n",
		"n=10 macro-F1=0.578 harassment P=1.000 R=0.500 F1=0.667 routine->harassment=0.000%\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not have %q:\n%s", want, out.String())
		}
	}
}

// TestEvalAgreesWithScorePy prints the figures score.py prints for the same
// predictions, digit for digit.
func TestEvalAgreesWithScorePy(t *testing.T) {
	script := filepath.Join("..", "..", "..", "shared", "eval", "score.py")
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	if _, err := os.Stat(script); err != nil {
		t.Skipf("no %s", script)
	}
	for _, corpus := range []string{"testdata/eval/corpus.jsonl", "testdata/eval/no-escalate.jsonl"} {
		t.Run(corpus, func(t *testing.T) {
			in, err := os.ReadFile(corpus)
			if err != nil {
				t.Fatal(err)
			}
			var pred, ours bytes.Buffer
			if err := runClassify(context.Background(), []string{"--lexicon", evalLexicon}, bytes.NewReader(in), &pred, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			predFile := filepath.Join(t.TempDir(), "pred.jsonl")
			if err := os.WriteFile(predFile, pred.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			theirs, err := exec.Command(python, script, corpus, predFile).CombinedOutput()
			if err != nil {
				t.Fatalf("score.py: %v\n%s", err, theirs)
			}
			if err := runEval(context.Background(), []string{"--lexicon", evalLexicon, "--corpus", corpus}, nil, &ours, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			tl := strings.Split(strings.TrimSpace(string(theirs)), "\n")
			ol := strings.Split(strings.TrimSpace(ours.String()), "\n")
			// The per-label table (header and three rows) and the last line.
			for i := 0; i < 4; i++ {
				if ol[i] != tl[i] {
					t.Errorf("line %d: eval %q, score.py %q", i+1, ol[i], tl[i])
				}
			}
			if ol[len(ol)-1] != tl[len(tl)-1] {
				t.Errorf("last line: eval %q, score.py %q", ol[len(ol)-1], tl[len(tl)-1])
			}
		})
	}
}

func TestEvalBadCorpusNamesEveryLine(t *testing.T) {
	var out bytes.Buffer
	err := runEval(context.Background(), []string{"--lexicon", evalLexicon, "--corpus", "testdata/eval/bad.jsonl"}, nil, &out, &bytes.Buffer{})
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("err = %v, want a failure with exit status 1", err)
	}
	for _, want := range []string{
		`bad.jsonl:2: missing "label"; expect routine|escalate|harassment`,
		`bad.jsonl:3: label: unknown label "spam"`,
		"bad.jsonl:4: invalid JSON",
		`bad.jsonl:5: missing "text"`,
		"bad.jsonl:6: text: empty",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "bad.jsonl:1:") {
		t.Errorf("error blames the good line 1:\n%v", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed figures for a bad corpus:\n%s", out.String())
	}
}

func TestEvalUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--corpus", "testdata/eval/corpus.jsonl", "extra"},
		{"--no-such-flag"},
	} {
		err := runEval(context.Background(), args, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, errUsage) {
			t.Errorf("eval %q: err = %v, want errUsage", args, err)
		}
	}
	err := runEval(context.Background(), []string{"--corpus", "testdata/eval/missing.jsonl", "--lexicon", evalLexicon}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing corpus: err = %v, want ErrNotExist", err)
	}
}
