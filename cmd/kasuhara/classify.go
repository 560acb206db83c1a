package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/kasuhara/kasuhara/classifier"
)

// resultJSON is the JSON form of a classifier.Result, shared by classify
// and explain --json.
type resultJSON struct {
	ID             json.RawMessage    `json:"id"`
	Label          string             `json:"label"`
	Score          float64            `json:"score"`
	Categories     map[string]float64 `json:"categories"`
	Matches        []matchJSON        `json:"matches"`
	LexiconVersion string             `json:"lexicon_version"`
}

type matchJSON struct {
	Category  string   `json:"category"`
	Entry     string   `json:"entry"`
	Text      string   `json:"text"`
	Start     int      `json:"start"`
	End       int      `json:"end"`
	Weight    float64  `json:"weight"`
	Modifiers []string `json:"modifiers,omitempty"`
}

func toJSON(id json.RawMessage, r classifier.Result) resultJSON {
	out := resultJSON{
		ID: id, Label: r.Label.String(), Score: r.Score, LexiconVersion: r.LexiconVersion,
		Categories: make(map[string]float64, len(r.Categories)), Matches: make([]matchJSON, 0, len(r.Matches)),
	}
	for c, s := range r.Categories {
		out.Categories[string(c)] = s
	}
	for _, m := range r.Matches {
		out.Matches = append(out.Matches, matchJSON{string(m.Category), m.Entry, m.Text, m.Start, m.End, m.Weight, classifier.ModifierNames(m.Modifiers)})
	}
	return out
}

// errorJSON is the line classify writes for an input line it could not use.
type errorJSON struct {
	ID    json.RawMessage `json:"id,omitempty"`
	Line  int             `json:"line"`
	Error string          `json:"error"`
}

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
	lines := newLineReader(stdin, 6*c.Options().MaxTextBytes+4096)
	failed, total := 0, 0
	for n := 1; ; n++ {
		line, err := lines.next()
		if err == io.EOF {
			break
		}
		var res any
		if err == nil {
			res = classifyLine(c, n, line)
		} else if tl := (*lineTooLongError)(nil); errors.As(err, &tl) {
			res = errorJSON{Line: n, Error: tl.Error()}
		} else {
			return fmt.Errorf("read stdin: %w", err)
		}
		if res == nil {
			continue // blank line
		}
		total++
		if _, bad := res.(errorJSON); bad {
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

// classifyLine returns a resultJSON, an errorJSON, or nil for a blank line.
func classifyLine(c *classifier.Classifier, n int, line []byte) any {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	if !utf8.Valid(line) {
		return errorJSON{Line: n, Error: "line is not valid UTF-8"}
	}
	var in struct {
		ID   json.RawMessage `json:"id"`
		Text *string         `json:"text"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		return errorJSON{Line: n, Error: "invalid JSON: " + err.Error()}
	}
	if in.Text == nil {
		return errorJSON{ID: in.ID, Line: n, Error: `missing "text"`}
	}
	id := in.ID
	if id == nil {
		id = json.RawMessage("null")
	}
	r, err := c.Classify(*in.Text)
	if err != nil {
		return errorJSON{ID: in.ID, Line: n, Error: "text: " + err.Error()}
	}
	return toJSON(id, r)
}

// lineReader reads newline-terminated lines of bounded length.
type lineReader struct {
	r   *bufio.Reader
	max int
}

type lineTooLongError struct{ max int }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("line is longer than %d bytes", e.max)
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its newline. A line over max bytes is
// skipped whole and reported as *lineTooLongError.
func (l *lineReader) next() ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > l.max+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(buf) == 0 && !tooLong:
			return nil, io.EOF
		case err != nil && err != io.EOF:
			return nil, err
		}
		if tooLong {
			return nil, &lineTooLongError{l.max}
		}
		return bytes.TrimSuffix(buf, []byte("\n")), nil
	}
}
