package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/evaluation"
	"github.com/kasuhara/kasuhara/lexicon"
)

func runExplain(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("explain", "[flags] [TEXT]   (TEXT, or the message on stdin)", stderr)
	var cf classifierFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the result as one JSON object (as classify does) instead of prose")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if fs.NArg() == 0 {
		b, err := io.ReadAll(io.LimitReader(stdin, int64(cf.opts.MaxTextBytes)+1))
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		text = strings.TrimRight(string(b), "\n")
	}
	c, err := cf.build(nil)
	if err != nil {
		return err
	}
	x, err := c.Explain(text)
	if err != nil {
		return fmt.Errorf("text: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(evaluation.FromResult(json.RawMessage("null"), x.Result))
	}
	return writeExplanation(stdout, x)
}

func writeExplanation(w io.Writer, x classifier.Explanation) error {
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
			mods = " (" + strings.Join(classifier.ModifierNames(m.Modifiers), ", ") + ")"
		}
		fmt.Fprintf(tw, "  [%d,%d)\t%q\t%s\t%q\tweight %.2f%s\t%s\t%s\n", m.Start, m.End, m.Text, m.Category, m.Entry, m.Weight, mods, x.Moods[i], m.Source)
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
