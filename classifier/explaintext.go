package classifier

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kasuhara/kasuhara/lexicon"
)

// WriteText prints x as kasuhara explain does: the label, score, lexicon
// version and normalised text, then the category scores, the matches with
// their spans, weights, modifiers, moods and sources, and every token with
// the word classes it belongs to.
func (x Explanation) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "label:\t%s\n", x.Label)
	fmt.Fprintf(tw, "score:\t%.4f (harassment)\n", x.Score)
	fmt.Fprintf(tw, "lexicon:\t%s\n", x.LexiconVersion)
	fmt.Fprintf(tw, "normalised:\t%q\n", x.Normalized)
	fmt.Fprintln(tw, "\ncategories:")
	if len(x.Categories) == 0 {
		fmt.Fprintln(tw, "  (none)")
	}
	for _, c := range lexicon.Categories {
		if v, ok := x.Categories[c]; ok {
			fmt.Fprintf(tw, "  %s\t%.4f\n", c, v)
		}
	}
	fmt.Fprintln(tw, "\nmatches:")
	if len(x.Matches) == 0 {
		fmt.Fprintln(tw, "  (none)")
	}
	for i, m := range x.Matches {
		mods := ""
		if len(m.Modifiers) > 0 {
			mods = " (" + strings.Join(ModifierNames(m.Modifiers), ", ") + ")"
		}
		mood := lexicon.MoodPlain
		if i < len(x.Moods) {
			mood = x.Moods[i]
		}
		fmt.Fprintf(tw, "  [%d,%d)\t%q\t%s\t%q\tweight %.2f%s\t%s\t%s\n", m.Start, m.End, m.Text, m.Category, m.Entry, m.Weight, mods, mood, m.Source)
	}
	fmt.Fprintln(tw, "\ntokens:\n  span\tsurface\tlemma\tpart of speech\tform\tclasses\tsentence")
	for _, t := range x.Tokens {
		form := t.Form
		if t.Imperative {
			form += " (imperative)"
		}
		classes := "-"
		if len(t.Classes) > 0 {
			classes = "{" + strings.Join(t.Classes, "} {") + "}"
		}
		fmt.Fprintf(tw, "  [%d,%d)\t%s\t%s\t%s\t%s\t%s\t%d\n", t.Start, t.End, t.Surface, strings.Join(t.Lemmas, "|"), t.POS, form, classes, t.Sentence)
	}
	return tw.Flush()
}
