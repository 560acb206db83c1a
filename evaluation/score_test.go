package evaluation

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/classifier"
)

// msg is a corpus message with a gold label and one classifier's labels.
func msg(id string, gold classifier.Label, predicted ...classifier.Label) Message {
	m := Message{ID: json.RawMessage(`"` + id + `"`), Text: "text " + id, Gold: gold}
	for _, p := range predicted {
		m.Results = append(m.Results, Result{Label: p.String(), Matches: []Match{}})
	}
	return m
}

func TestEvaluateScoresAsScorePyDoes(t *testing.T) {
	r, e, h := classifier.Routine, classifier.Escalate, classifier.Harassment
	rep := Evaluate([]Message{msg("1", r, r), msg("2", r, h), msg("3", e, e), msg("4", h, h), msg("5", h, e)})
	if rep.N != 5 || len(rep.Misclassified) != 2 {
		t.Fatalf("n=%d, %d misclassified; want 5 and 2", rep.N, len(rep.Misclassified))
	}
	if got := rep.Confusion["routine"]["harassment"]; got != 1 {
		t.Errorf("routine→harassment = %d, want 1", got)
	}
	hs := rep.PerLabel["harassment"]
	if hs.Precision != 0.5 || hs.Recall != 0.5 || hs.Support != 2 {
		t.Errorf("harassment = %+v, want P=0.5 R=0.5 n=2", hs)
	}
	// F1: routine 2/3, escalate 2/3, harassment 1/2.
	if want := (2.0/3 + 2.0/3 + 0.5) / 3; math.Abs(rep.MacroF1-want) > 1e-9 {
		t.Errorf("macro-F1 = %v, want %v", rep.MacroF1, want)
	}
	if want := "n=5 macro-F1=0.611 harassment P=0.500 R=0.500 F1=0.500 routine->harassment=50.000%"; rep.Headline() != want {
		t.Errorf("headline %q, want %q", rep.Headline(), want)
	}
	var b strings.Builder
	if err := WriteReport(&b, rep); err != nil || !strings.Contains(b.String(), "misclassified: 2 of 5") {
		t.Errorf("report (%v):\n%s", err, b.String())
	}
}

func TestDiffCountsTransitionsFixedAndBroken(t *testing.T) {
	r, e, h := classifier.Routine, classifier.Escalate, classifier.Harassment
	rep := Diff([]Message{msg("1", r, r, r), msg("2", h, e, h), msg("3", r, r, e), msg("4", classifier.LabelUnspecified, e, h)})
	if rep.N != 4 || len(rep.Changed) != 3 {
		t.Fatalf("n=%d, %d changed; want 4 and 3", rep.N, len(rep.Changed))
	}
	if rep.Fixed != 1 || rep.Broken != 1 {
		t.Errorf("fixed %d, broken %d; want 1 and 1", rep.Fixed, rep.Broken)
	}
	if rep.Transitions["escalate->harassment"] != 2 || rep.Transitions["routine->escalate"] != 1 {
		t.Errorf("transitions %v", rep.Transitions)
	}
}
