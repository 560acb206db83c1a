package evaluation

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/kasuhara/kasuhara/classifier"
)

// Result is the JSON form of a classifier.Result, shared by classify
// and explain --json.
type Result struct {
	ID         json.RawMessage    `json:"id"`
	Label      string             `json:"label"`
	Score      float64            `json:"score"`
	Categories map[string]float64 `json:"categories"`
	Matches    []Match            `json:"matches"`
	// Toxicity is the generic toxicity by category, whoever the words are
	// aimed at (see classifier.Result.Toxicity); absent when none.
	Toxicity       map[string]float64 `json:"toxicity,omitempty"`
	LexiconVersion string             `json:"lexicon_version"`
}

// Match is the JSON form of a classifier.Match.
type Match struct {
	Category  string   `json:"category"`
	Entry     string   `json:"entry"`
	Text      string   `json:"text"`
	Start     int      `json:"start"`
	End       int      `json:"end"`
	Weight    float64  `json:"weight"`
	Modifiers []string `json:"modifiers,omitempty"`
}

// FromResult is r in its JSON form, under id.
func FromResult(id json.RawMessage, r classifier.Result) Result {
	out := Result{
		ID: id, Label: r.Label.String(), Score: r.Score, LexiconVersion: r.LexiconVersion,
		Categories: make(map[string]float64, len(r.Categories)), Matches: make([]Match, 0, len(r.Matches)),
	}
	for c, s := range r.Categories {
		out.Categories[string(c)] = s
	}
	for c, t := range r.Toxicity {
		if out.Toxicity == nil {
			out.Toxicity = make(map[string]float64, len(r.Toxicity))
		}
		out.Toxicity[string(c)] = t
	}
	for _, m := range r.Matches {
		out.Matches = append(out.Matches, Match{string(m.Category), m.Entry, m.Text, m.Start, m.End, m.Weight, classifier.ModifierNames(m.Modifiers)})
	}
	return out
}

// LineError is the line classify writes for an input line it could not use.
type LineError struct {
	ID    json.RawMessage `json:"id,omitempty"`
	Line  int             `json:"line"`
	Error string          `json:"error"`
}

// ClassifyLine classifies line n of a JSON Lines input ({"id","text"}) with
// c, as classify does: it returns a Result, a LineError, or nil for a blank
// line.
func ClassifyLine(c *classifier.Classifier, n int, line []byte) any {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	if !utf8.Valid(line) {
		return LineError{Line: n, Error: "line is not valid UTF-8"}
	}
	var in struct {
		ID   json.RawMessage `json:"id"`
		Text *string         `json:"text"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		return LineError{Line: n, Error: "invalid JSON: " + err.Error()}
	}
	if in.Text == nil {
		return LineError{ID: in.ID, Line: n, Error: `missing "text"`}
	}
	id := in.ID
	if id == nil {
		id = json.RawMessage("null")
	}
	r, err := c.Classify(*in.Text)
	if err != nil {
		return LineError{ID: in.ID, Line: n, Error: "text: " + err.Error()}
	}
	return FromResult(id, r)
}

// LineReader reads newline-terminated lines of bounded length.
type LineReader struct {
	r   *bufio.Reader
	max int
}

// LineTooLongError is a line over the LineReader's limit, skipped whole.
type LineTooLongError struct{ max int }

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line is longer than %d bytes", e.max)
}

// NewLineReader reads lines of at most max bytes from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next line without its newline. A line over max bytes is
// skipped whole and reported as *LineTooLongError.
func (l *LineReader) Next() ([]byte, error) {
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
			return nil, &LineTooLongError{l.max}
		}
		return bytes.TrimSuffix(buf, []byte("\n")), nil
	}
}
