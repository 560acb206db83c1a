package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kasuhara/kasuhara/classifier"
)

// evalLabels are the labels a corpus is scored on, in the order reports
// list them.
var evalLabels = []classifier.Label{classifier.Routine, classifier.Escalate, classifier.Harassment}

// excerptRunes is how much of a message's text reports show.
const excerptRunes = 60

func runEval(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "--corpus FILE.jsonl [flags]", stderr)
	var cf classifierFlags
	cf.register(fs)
	corpus := fs.String("corpus", "", `labelled JSON Lines `+"`FILE`"+` of {"id","text","label"} (label: routine|escalate|harassment)`)
	asJSON := fs.Bool("json", false, "print one JSON object (macro_f1, per_label, confusion, misclassified) instead of tables")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, stderr); err != nil {
		return err
	}
	if err := required(fs, stderr, "corpus"); err != nil {
		return err
	}
	c, err := cf.build(nil)
	if err != nil {
		return err
	}
	msgs, err := readCorpus(*corpus, true, c)
	if err != nil {
		return err
	}
	rep := evaluate(msgs)
	rep.LexiconVersion = c.Lexicon().Version
	if *asJSON {
		return printJSON(stdout, rep)
	}
	return writeEval(stdout, rep)
}

// corpusMessage is one message of a corpus with what each classifier made
// of it.
type corpusMessage struct {
	line    int
	id      json.RawMessage
	text    string
	gold    classifier.Label // LabelUnspecified when the line has no label
	results []resultJSON     // one per classifier, in order
}

// readCorpus classifies each message of the JSON Lines corpus at path with
// every one of cs (at least one). Lines are {"id","text","label","tags"};
// other keys are ignored and blank lines skipped; label is required when
// needGold. Every bad line is reported, as FILE:LINE: message.
func readCorpus(path string, needGold bool, cs ...*classifier.Classifier) ([]corpusMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	defer f.Close()
	// A JSON line may escape each byte of text as \uXXXX: allow for that.
	lines := newLineReader(f, 6*cs[0].Options().MaxTextBytes+4096)
	var msgs []corpusMessage
	var errs []error
	bad := func(n int, msg string) { errs = append(errs, fmt.Errorf("%s:%d: %s", path, n, msg)) }
next:
	for n := 1; ; n++ {
		line, err := lines.next()
		if err == io.EOF {
			break
		}
		if tl := (*lineTooLongError)(nil); errors.As(err, &tl) {
			bad(n, tl.Error())
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read corpus %s: %w", path, err)
		}
		m := corpusMessage{line: n}
		for _, c := range cs {
			switch r := classifyLine(c, n, line).(type) {
			case nil:
				continue next // blank line
			case errorJSON:
				bad(n, r.Error)
				continue next
			case resultJSON:
				m.id = r.ID
				m.results = append(m.results, r)
			}
		}
		var in struct {
			Text  string  `json:"text"`
			Label *string `json:"label"`
		}
		if err := json.Unmarshal(line, &in); err != nil {
			bad(n, "invalid JSON: "+err.Error())
			continue
		}
		m.text = in.Text
		switch {
		case in.Label != nil:
			if m.gold, err = classifier.ParseLabel(*in.Label); err != nil {
				bad(n, "label: "+err.Error())
				continue
			}
		case needGold:
			bad(n, `missing "label"; expect routine|escalate|harassment`)
			continue
		}
		msgs = append(msgs, m)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d bad corpus lines: %w", len(errs), errors.Join(errs...))
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("corpus %s: no messages", path)
	}
	return msgs, nil
}

// evalReport is what eval prints, and its JSON form.
type evalReport struct {
	N       int     `json:"n"`
	MacroF1 float64 `json:"macro_f1"`
	// PerLabel and Confusion list every label, including those with no
	// support; MacroF1 averages F1 over the labels the gold side has.
	PerLabel  map[string]labelScores    `json:"per_label"`
	Confusion map[string]map[string]int `json:"confusion"` // gold → predicted → count
	// RoutineToHarassment is the share of routine messages labelled
	// harassment.
	RoutineToHarassment float64            `json:"routine_to_harassment"`
	Misclassified       []misclassifiedMsg `json:"misclassified"`
	LexiconVersion      string             `json:"lexicon_version"`
}

type labelScores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

type misclassifiedMsg struct {
	ID        json.RawMessage `json:"id"`
	Line      int             `json:"line"`
	Gold      string          `json:"gold"`
	Predicted string          `json:"predicted"`
	Score     float64         `json:"score"`
	Text      string          `json:"text"` // the first 60 characters
	Matches   []matchJSON     `json:"matches"`
	cut       bool            // Text is shorter than the message
}

// evaluate scores the first classifier's labels against the gold ones the
// way ../shared/eval/score.py does: precision, recall and F1 are 0 where
// their denominators are, and macro-F1 is the mean F1 of the labels with
// gold support.
func evaluate(msgs []corpusMessage) evalReport {
	var conf [classifier.Harassment + 1][classifier.Harassment + 1]int // gold, predicted
	rep := evalReport{N: len(msgs), PerLabel: map[string]labelScores{}, Confusion: map[string]map[string]int{},
		Misclassified: []misclassifiedMsg{}}
	for _, m := range msgs {
		r := m.results[0]
		pred, _ := classifier.ParseLabel(r.Label) // classify only writes valid labels
		conf[m.gold][pred]++
		if pred != m.gold {
			rep.Misclassified = append(rep.Misclassified, misclassifiedMsg{ID: m.id, Line: m.line, Gold: m.gold.String(),
				Predicted: r.Label, Score: r.Score, Text: excerpt(m.text), Matches: r.Matches, cut: excerpt(m.text) != m.text})
		}
	}
	var f1s []float64
	for _, g := range evalLabels {
		var s labelScores
		tp, fp, fn := conf[g][g], 0, 0
		row := map[string]int{}
		for _, o := range evalLabels {
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
	rep.MacroF1 /= float64(len(f1s)) // readCorpus returns at least one message
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

// writeEval prints the report as tables whose figures print as
// ../shared/eval/score.py prints them.
func writeEval(w io.Writer, rep evalReport) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-11s %6s %6s %6s %5s\n", "label", "prec", "rec", "f1", "n")
	for _, l := range evalLabels {
		s := rep.PerLabel[l.String()]
		fmt.Fprintf(bw, "%-11s %6.3f %6.3f %6.3f %5d\n", l, s.Precision, s.Recall, s.F1, s.Support)
	}
	fmt.Fprintln(bw, "\nconfusion (rows gold, columns predicted):")
	fmt.Fprintf(bw, "%-11s", "")
	for _, p := range evalLabels {
		fmt.Fprintf(bw, " %10s", p)
	}
	fmt.Fprintln(bw)
	for _, g := range evalLabels {
		fmt.Fprintf(bw, "%-11s", g)
		for _, p := range evalLabels {
			fmt.Fprintf(bw, " %10d", rep.Confusion[g.String()][p.String()])
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "\nmisclassified: %d of %d\n", len(rep.Misclassified), rep.N)
	for _, m := range rep.Misclassified {
		fmt.Fprintf(bw, "%s (line %d): gold %s, predicted %s, score %.4f\n  %s\n", idString(m.ID), m.Line, m.Gold, m.Predicted, m.Score, quoteExcerpt(m.Text, m.cut))
		writeMatches(bw, "  ", m.Matches)
	}
	h := rep.PerLabel[classifier.Harassment.String()]
	fmt.Fprintf(bw, "\nlexicon %s\n", rep.LexiconVersion)
	fmt.Fprintf(bw, "n=%d macro-F1=%.3f harassment P=%.3f R=%.3f F1=%.3f routine->harassment=%.3f%%\n",
		rep.N, rep.MacroF1, h.Precision, h.Recall, h.F1, rep.RoutineToHarassment*100)
	return bw.Flush()
}

// writeMatches prints one line per match: the entry, where it fired, its
// weight and modifiers.
func writeMatches(w io.Writer, indent string, ms []matchJSON) {
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

// idString shows a message id: a JSON string unquoted, anything else as
// written.
func idString(id json.RawMessage) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return s
	}
	return string(id)
}

// printJSON writes v as one indented JSON object.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
