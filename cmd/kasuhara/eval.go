package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/kasuhara/kasuhara/evaluation"
)

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
	msgs, err := evaluation.ReadCorpus(*corpus, true, c)
	if err != nil {
		return err
	}
	rep := evaluation.Evaluate(msgs)
	rep.LexiconVersion = c.Lexicon().Version
	if *asJSON {
		return printJSON(stdout, rep)
	}
	return evaluation.WriteReport(stdout, rep)
}

// printJSON writes v as one indented JSON object.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
