package evaluation

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kasuhara/kasuhara/classifier"
)

// labels are the labels a corpus is scored on, in the order reports list
// them.
func labels() [3]classifier.Label {
	return [...]classifier.Label{classifier.Routine, classifier.Escalate, classifier.Harassment}
}

// excerptRunes is how much of a message's text reports show.
const excerptRunes = 60

// Report is what eval prints, and its JSON form.
type Report struct {
	N       int     `json:"n"`
	MacroF1 float64 `json:"macro_f1"`
	// PerLabel and Confusion list every label, including those with no
	// support; MacroF1 averages F1 over the labels the gold side has.
	PerLabel  map[string]LabelScores    `json:"per_label"`
	Confusion map[string]map[string]int `json:"confusion"` // gold → predicted → count
	// RoutineToHarassment is the share of routine messages labelled
	// harassment.
	RoutineToHarassment float64         `json:"routine_to_harassment"`
	Misclassified       []Misclassified `json:"misclassified"`
	LexiconVersion      string          `json:"lexicon_version"`
}

// LabelScores are one label's figures: precision, recall and F1 against
// the gold labels, and how many messages have it as their gold label.
type LabelScores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Misclassified is a message whose predicted label is not its gold one,
// with the matches that decided it.
type Misclassified struct {
	ID        json.RawMessage `json:"id"`
	Line      int             `json:"line"`
	Gold      string          `json:"gold"`
	Predicted string          `json:"predicted"`
	Score     float64         `json:"score"`
	Text      string          `json:"text"` // the first 60 characters
	Matches   []Match         `json:"matches"`
	cut       bool            // Text is shorter than the message
}

// Evaluate scores the first classifier's labels against the gold ones the
// way ../shared/eval/score.py does: precision, recall and F1 are 0 where
// their denominators are, and macro-F1 is the mean F1 of the labels with
// gold support.
func Evaluate(msgs []Message) Report {
	var conf [classifier.Harassment + 1][classifier.Harassment + 1]int // gold, predicted
	rep := Report{N: len(msgs), PerLabel: map[string]LabelScores{}, Confusion: map[string]map[string]int{},
		Misclassified: []Misclassified{}}
	for _, m := range msgs {
		r := m.Results[0]
		pred, _ := classifier.ParseLabel(r.Label) // classify only writes valid labels
		conf[m.Gold][pred]++
		if pred != m.Gold {
			rep.Misclassified = append(rep.Misclassified, Misclassified{ID: m.ID, Line: m.Line, Gold: m.Gold.String(),
				Predicted: r.Label, Score: r.Score, Text: excerpt(m.Text), Matches: r.Matches, cut: excerpt(m.Text) != m.Text})
		}
	}
	var f1s []float64
	for _, g := range labels() {
		var s LabelScores
		tp, fp, fn := conf[g][g], 0, 0
		row := map[string]int{}
		for _, o := range labels() {
			row[o.String()] = conf[g][o]
			s.Support += conf[g][o]
			if o != g {
				fp += conf[o][g]
				fn += conf[g][o]
			}
		}
		s.Precision, s.Recall, s.F1 = prf(tp, fp, fn)
		if s.Support > 0 {
			f1s = append(f1s, s.F1)
		}
		rep.PerLabel[g.String()] = s
		rep.Confusion[g.String()] = row
	}
	for _, f := range f1s {
		rep.MacroF1 += f
	}
	rep.MacroF1 /= float64(len(f1s)) // ReadCorpus returns at least one message
	if n := rep.PerLabel[classifier.Routine.String()].Support; n > 0 {
		rep.RoutineToHarassment = float64(conf[classifier.Routine][classifier.Harassment]) / float64(n)
	}
	return rep
}

// prf is precision, recall and F1, each 0 when its denominator is.
func prf(tp, fp, fn int) (p, r, f float64) {
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// WriteReport prints the report as tables whose figures print as
// ../shared/eval/score.py prints them.
func WriteReport(w io.Writer, rep Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-11s %6s %6s %6s %5s\n", "label", "prec", "rec", "f1", "n")
	for _, l := range labels() {
		s := rep.PerLabel[l.String()]
		fmt.Fprintf(bw, "%-11s %6.3f %6.3f %6.3f %5d\n", l, s.Precision, s.Recall, s.F1, s.Support)
	}
	fmt.Fprintln(bw, "\nconfusion (rows gold, columns predicted):")
	fmt.Fprintf(bw, "%-11s", "")
	for _, p := range labels() {
		fmt.Fprintf(bw, " %10s", p)
	}
	fmt.Fprintln(bw)
	for _, g := range labels() {
		fmt.Fprintf(bw, "%-11s", g)
		for _, p := range labels() {
			fmt.Fprintf(bw, " %10d", rep.Confusion[g.String()][p.String()])
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "\nmisclassified: %d of %d\n", len(rep.Misclassified), rep.N)
	for _, m := range rep.Misclassified {
		fmt.Fprintf(bw, "%s (line %d): gold %s, predicted %s, score %.4f\n  %s\n", IDString(m.ID), m.Line, m.Gold, m.Predicted, m.Score, quoteExcerpt(m.Text, m.cut))
		writeMatches(bw, "  ", m.Matches)
	}
	fmt.Fprintf(bw, "\nlexicon %s\n%s\n", rep.LexiconVersion, rep.Headline())
	return bw.Flush()
}

// Headline is the report in one line, figured and printed as
// ../shared/eval/score.py prints its own.
func (rep Report) Headline() string {
	h := rep.PerLabel[classifier.Harassment.String()]
	return fmt.Sprintf("n=%d macro-F1=%.3f harassment P=%.3f R=%.3f F1=%.3f routine->harassment=%.3f%%",
		rep.N, rep.MacroF1, h.Precision, h.Recall, h.F1, rep.RoutineToHarassment*100)
}

// writeMatches prints one line per match: the entry, where it fired, its
// weight and modifiers.
func writeMatches(w io.Writer, indent string, ms []Match) {
	if len(ms) == 0 {
		fmt.Fprintf(w, "%s(no entry fired)\n", indent)
	}
	for _, m := range ms {
		mods := ""
		if len(m.Modifiers) > 0 {
			mods = " (" + strings.Join(m.Modifiers, ", ") + ")"
		}
		fmt.Fprintf(w, "%s%s %q on %q [%d,%d) weight %.2f%s\n", indent, m.Category, m.Entry, m.Text, m.Start, m.End, m.Weight, mods)
	}
}

// excerpt is the first excerptRunes characters of s.
func excerpt(s string) string {
	n := 0
	for i := range s {
		if n == excerptRunes {
			return s[:i]
		}
		n++
	}
	return s
}

// quoteExcerpt quotes an excerpt on one line, marking a cut one with ….
func quoteExcerpt(s string, cut bool) string {
	q := fmt.Sprintf("%q", s)
	if cut {
		q += "…"
	}
	return q
}

// IDString shows a message id: a JSON string unquoted, anything else as
// written.
func IDString(id json.RawMessage) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return s
	}
	return string(id)
}
