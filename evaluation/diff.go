package evaluation

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kasuhara/kasuhara/classifier"
)

// DiffReport is what lexicon diff prints, and its JSON form.
type DiffReport struct {
	OldVersion string `json:"old_version"`
	NewVersion string `json:"new_version"`
	N          int    `json:"n"`
	// Changed lists the messages whose label changes, in corpus order.
	Changed []LabelChange `json:"changed"`
	// Transitions counts the changes by "old->new" label.
	Transitions map[string]int `json:"transitions"`
	// Fixed and Broken count, among changed messages with a gold label,
	// those the new lexicon gets right and those the old one did.
	Fixed  int `json:"fixed"`
	Broken int `json:"broken"`
}

// LabelChange is a message the two lexicons label differently, with the
// entries that make the difference.
type LabelChange struct {
	ID   json.RawMessage `json:"id"`
	Line int             `json:"line"`
	Old  string          `json:"old"`
	New  string          `json:"new"`
	Gold string          `json:"gold,omitempty"`
	Text string          `json:"text"` // the first 60 characters
	// OnlyOld and OnlyNew are the matches of entries that fired with one
	// lexicon only (entries are told apart by category and pattern).
	OnlyOld []Match `json:"only_old"`
	OnlyNew []Match `json:"only_new"`
	// Reweighted are entries that fired with both, at different weights.
	Reweighted []Reweighted `json:"reweighted"`
	cut        bool
}

// Reweighted is an entry that fired with both lexicons at different
// weights.
type Reweighted struct {
	Category  string  `json:"category"`
	Entry     string  `json:"entry"`
	OldWeight float64 `json:"old_weight"`
	NewWeight float64 `json:"new_weight"`
}

// entryKey identifies an entry across two versions of a lexicon.
type entryKey struct{ category, entry string }

// Diff compares the labels of two classifiers (results[0], old, and
// results[1], new) message by message.
func Diff(msgs []Message) DiffReport {
	rep := DiffReport{N: len(msgs), Changed: []LabelChange{}, Transitions: map[string]int{}}
	for _, m := range msgs {
		o, n := m.Results[0], m.Results[1]
		if o.Label == n.Label {
			continue
		}
		ch := LabelChange{ID: m.ID, Line: m.Line, Old: o.Label, New: n.Label, Text: excerpt(m.Text), cut: excerpt(m.Text) != m.Text,
			OnlyOld: []Match{}, OnlyNew: []Match{}, Reweighted: []Reweighted{}}
		if m.Gold != classifier.LabelUnspecified {
			ch.Gold = m.Gold.String()
			switch ch.Gold {
			case n.Label:
				rep.Fixed++
			case o.Label:
				rep.Broken++
			}
		}
		ow, nw := entryWeights(o.Matches), entryWeights(n.Matches)
		for _, mt := range o.Matches {
			if _, ok := nw[entryKey{mt.Category, mt.Entry}]; !ok {
				ch.OnlyOld = append(ch.OnlyOld, mt)
			}
		}
		for _, mt := range n.Matches {
			k := entryKey{mt.Category, mt.Entry}
			w, ok := ow[k]
			switch {
			case !ok:
				ch.OnlyNew = append(ch.OnlyNew, mt)
			case w != nw[k] && !hasReweighted(ch.Reweighted, k):
				ch.Reweighted = append(ch.Reweighted, Reweighted{k.category, k.entry, w, nw[k]})
			}
		}
		rep.Changed = append(rep.Changed, ch)
		rep.Transitions[o.Label+"->"+n.Label]++
	}
	return rep
}

// entryWeights is the heaviest match of each entry that fired.
func entryWeights(ms []Match) map[entryKey]float64 {
	w := map[entryKey]float64{}
	for _, m := range ms {
		k := entryKey{m.Category, m.Entry}
		if cur, ok := w[k]; !ok || m.Weight > cur {
			w[k] = m.Weight
		}
	}
	return w
}

func hasReweighted(rs []Reweighted, k entryKey) bool {
	for _, r := range rs {
		if r.Category == k.category && r.Entry == k.entry {
			return true
		}
	}
	return false
}

// WriteDiff prints the report as lexicon diff does: each changed message
// with its entries, the transitions, and a closing count.
func WriteDiff(w io.Writer, rep DiffReport) error {
	for _, ch := range rep.Changed {
		gold := ""
		if ch.Gold != "" {
			gold = ", gold " + ch.Gold
		}
		fmt.Fprintf(w, "%s (line %d): %s → %s%s\n  %s\n", IDString(ch.ID), ch.Line, ch.Old, ch.New, gold, quoteExcerpt(ch.Text, ch.cut))
		for _, part := range []struct {
			name string
			ms   []Match
		}{{"only old", ch.OnlyOld}, {"only new", ch.OnlyNew}} {
			if len(part.ms) > 0 {
				fmt.Fprintf(w, "  %s:\n", part.name)
				writeMatches(w, "    ", part.ms)
			}
		}
		for _, r := range ch.Reweighted {
			fmt.Fprintf(w, "  reweighted: %s %q weight %.2f → %.2f\n", r.Category, r.Entry, r.OldWeight, r.NewWeight)
		}
	}
	if len(rep.Changed) > 0 {
		fmt.Fprintln(w)
	}
	for _, o := range labels() {
		for _, n := range labels() {
			if c := rep.Transitions[o.String()+"->"+n.String()]; c > 0 {
				fmt.Fprintf(w, "%-24s %d\n", o.String()+" → "+n.String(), c)
			}
		}
	}
	_, err := fmt.Fprintf(w, "%d of %d messages change label (old lexicon %s, new %s); with a gold label: %d fixed, %d broken\n",
		len(rep.Changed), rep.N, rep.OldVersion, rep.NewVersion, rep.Fixed, rep.Broken)
	return err
}
