package evaluation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kasuhara/kasuhara/classifier"
)

// Message is one message of a corpus with what each classifier made
// of it.
type Message struct {
	Line    int
	ID      json.RawMessage
	Text    string
	Gold    classifier.Label // LabelUnspecified when the line has no label
	Results []Result         // one per classifier, in order
}

// ReadCorpus classifies each message of the JSON Lines corpus at path with
// every one of cs (at least one). Lines are {"id","text","label","tags"};
// other keys are ignored and blank lines skipped; label is required when
// needGold. Every bad line is reported, as FILE:LINE: message.
func ReadCorpus(path string, needGold bool, cs ...*classifier.Classifier) ([]Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	defer f.Close()
	// A JSON line may escape each byte of text as \uXXXX: allow for that.
	lines := NewLineReader(f, 6*cs[0].Options().MaxTextBytes+4096)
	var msgs []Message
	var errs []error
	bad := func(n int, msg string) { errs = append(errs, fmt.Errorf("%s:%d: %s", path, n, msg)) }
next:
	for n := 1; ; n++ {
		line, err := lines.Next()
		if err == io.EOF {
			break
		}
		if tl := (*LineTooLongError)(nil); errors.As(err, &tl) {
			bad(n, tl.Error())
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read corpus %s: %w", path, err)
		}
		m := Message{Line: n}
		for _, c := range cs {
			switch r := ClassifyLine(c, n, line).(type) {
			case nil:
				continue next // blank line
			case LineError:
				bad(n, r.Error)
				continue next
			case Result:
				m.ID = r.ID
				m.Results = append(m.Results, r)
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
		m.Text = in.Text
		switch {
		case in.Label != nil:
			if m.Gold, err = classifier.ParseLabel(*in.Label); err != nil {
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
