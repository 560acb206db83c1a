package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kasuhara/kasuhara/evaluation"
)

// errSomeLinesFailed is returned when classify wrote at least one error line.
var errSomeLinesFailed = errors.New("input lines failed")

func runClassify(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify", "[flags] < messages.jsonl", stderr)
	var cf classifierFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kasuhara classify: unexpected argument %q; messages come on stdin\n", fs.Arg(0))
		return errUsage
	}
	c, err := cf.build(nil)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	// A JSON line may escape each byte of text as \uXXXX: allow for that.
	lines := evaluation.NewLineReader(stdin, 6*c.Options().MaxTextBytes+4096)
	failed, total := 0, 0
	for n := 1; ; n++ {
		line, err := lines.Next()
		if err == io.EOF {
			break
		}
		var res any
		if err == nil {
			res = evaluation.ClassifyLine(c, n, line)
		} else if tl := (*evaluation.LineTooLongError)(nil); errors.As(err, &tl) {
			res = evaluation.LineError{Line: n, Error: tl.Error()}
		} else {
			return fmt.Errorf("read stdin: %w", err)
		}
		if res == nil {
			continue // blank line
		}
		total++
		if _, bad := res.(evaluation.LineError); bad {
			failed++
		}
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write stdout: %w", err)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write stdout: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", errSomeLinesFailed, failed, total)
	}
	return nil
}
