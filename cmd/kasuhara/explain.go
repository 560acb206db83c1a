package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kasuhara/kasuhara/evaluation"
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
		return printJSON(stdout, evaluation.FromResult(json.RawMessage("null"), x.Result))
	}
	return x.WriteText(stdout)
}
