package evaluation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
)

// LintReport is what kasuhara lexicon lint prints, and its JSON form.
type LintReport struct {
	OK      bool      `json:"ok"`
	Errors  []Problem `json:"errors"`
	Entries int       `json:"entries"`
	Version string    `json:"version"`
	// Coverage is set by --coverage.
	Coverage *Coverage `json:"coverage,omitempty"`
}

// Problem is a lint problem or a bad corpus line, at a file and line.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Coverage is what --coverage adds to lint's report. Findings are in
// lexicon coordinates; bad lines in corpus ones. No message text is kept.
type Coverage struct {
	Corpora      []string          `json:"corpora"`
	Messages     int               `json:"messages"`
	BadLines     []Problem         `json:"bad_lines"`
	Entries      int               `json:"entries"`
	EntriesNever int               `json:"entries_never"`
	EntriesOnce  int               `json:"entries_once"`
	Phrases      int               `json:"phrases"`
	PhrasesNever int               `json:"phrases_never"`
	PhrasesOnce  int               `json:"phrases_once"`
	Findings     []CoverageFinding `json:"findings"`
	// Summary is the one line the findings end with.
	Summary string `json:"-"`
}

// CoverageFinding is an entry or phrase that fired on no message, or on
// one, at its place in the lexicon.
type CoverageFinding struct {
	Problem
	Category string `json:"category"`
	Entry    string `json:"entry"`
	Phrase   string `json:"phrase,omitempty"` // "" when about the entry
	// Messages is 0 or 1; Once names the one message.
	Messages int                    `json:"messages"`
	Once     *classifier.CorpusLine `json:"once,omitempty"`
}

// Cover classifies every message of the JSON Lines corpora at paths with
// c, whose lexicon is in dir ("" for the embedded default), and reports
// what fired. Bad lines are reported in BadLines and skipped; a corpus that
// cannot be read stops it.
func Cover(c *classifier.Classifier, dir string, paths []string) (*Coverage, error) {
	cv := classifier.NewCoverage(c)
	out := &Coverage{Corpora: paths, BadLines: []Problem{}, Findings: []CoverageFinding{}}
	for _, p := range paths {
		if err := coverCorpus(cv, c.Options().MaxTextBytes, p, &out.BadLines); err != nil {
			return nil, err
		}
	}
	rep := cv.Report()
	out.Messages, out.Entries, out.Phrases = rep.Messages, len(rep.Entries), rep.Phrases
	out.EntriesNever, out.EntriesOnce, out.PhrasesNever, out.PhrasesOnce = rep.EntriesNever, rep.EntriesOnce, rep.PhrasesNever, rep.PhrasesOnce
	out.Summary = rep.Summary()
	for _, f := range rep.Findings() {
		fj := CoverageFinding{
			Problem:  Problem{LexiconFile(dir, f.Pos.File), f.Pos.Line, f.Message()},
			Category: string(f.Category), Entry: f.Entry, Phrase: f.Phrase, Messages: f.Messages,
		}
		if f.Messages == 1 {
			fj.Once = &f.First
		}
		out.Findings = append(out.Findings, fj)
	}
	return out, nil
}

// coverCorpus adds each message of the JSON Lines file at path to cv,
// appending its bad lines to bad.
func coverCorpus(cv *classifier.Coverage, maxText int, path string, bad *[]Problem) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("coverage: %w", err)
	}
	defer f.Close()
	lines := NewLineReader(f, 6*maxText+4096) // as ReadCorpus: text may be all \uXXXX
	for n := 1; ; n++ {
		line, err := lines.Next()
		if err == io.EOF {
			return nil
		}
		if tl := (*LineTooLongError)(nil); errors.As(err, &tl) {
			*bad = append(*bad, Problem{path, n, tl.Error()})
			continue
		} else if err != nil {
			return fmt.Errorf("coverage: read %s: %w", path, err)
		}
		id, text, msg := corpusText(line)
		if msg == "" && text == nil {
			continue // blank
		}
		if msg == "" {
			if _, err := cv.Add(*text, classifier.CorpusLine{File: path, Line: n, ID: id}); err != nil {
				msg = "text: " + err.Error()
			}
		}
		if msg != "" {
			*bad = append(*bad, Problem{path, n, msg})
		}
	}
}

// corpusText reads a corpus line's id and text. A blank line gives a nil
// text and no message; a bad one a message that never quotes the line.
func corpusText(line []byte) (id string, text *string, msg string) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return "", nil, ""
	}
	if !utf8.Valid(line) {
		return "", nil, "line is not valid UTF-8"
	}
	var in struct {
		ID   json.RawMessage `json:"id"`
		Text *string         `json:"text"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return "", nil, fmt.Sprintf("invalid JSON at byte %d", se.Offset)
		}
		return "", nil, "invalid JSON: want an object with a string \"text\""
	}
	if in.ID != nil {
		id = IDString(in.ID)
	}
	if in.Text == nil {
		return id, nil, `missing "text"`
	}
	return id, in.Text, ""
}

// Lint loads and lints the lexicon in dir ("" for the embedded default)
// with opts. Problems in the files are in the report; err is for what
// stops linting (no files, unreadable directory).
func Lint(dir string, opts classifier.Options) (LintReport, error) {
	rep := LintReport{Errors: []Problem{}}
	add := func(le *lexicon.Error) {
		rep.Errors = append(rep.Errors, Problem{LexiconFile(dir, le.Pos.File), le.Pos.Line, le.Msg})
	}
	lex, err := lexicon.Default()
	if dir != "" {
		lex, err = lexicon.LoadDir(dir)
	}
	if err != nil {
		les, ok := lexiconErrors(err)
		if !ok {
			return rep, err
		}
		for _, le := range les {
			add(le)
		}
		return rep, nil
	}
	rep.Entries, rep.Version = len(lex.Entries), lex.Version
	for _, err := range classifier.Lint(lex, opts) {
		var le *lexicon.Error
		if !errors.As(err, &le) {
			return rep, err // the options, not the lexicon
		}
		add(le)
	}
	rep.OK = len(rep.Errors) == 0
	return rep, nil
}

// lexiconErrors flattens what lexicon.Load returns (wrapped, joined) into
// its *lexicon.Error parts; ok is false if some part is not one.
func lexiconErrors(err error) (les []*lexicon.Error, ok bool) {
	var walk func(error) bool
	walk = func(err error) bool {
		switch e := err.(type) {
		case *lexicon.Error:
			les = append(les, e)
			return true
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				if !walk(x) {
					return false
				}
			}
			return true
		case interface{ Unwrap() error }:
			return walk(e.Unwrap())
		}
		return false
	}
	return les, walk(err)
}

// LexiconFile is the path of a lexicon's file as lint prints it: file
// within dir, or file alone for the embedded default (dir "").
func LexiconFile(dir, file string) string {
	if dir != "" {
		return filepath.Join(dir, file)
	}
	return file
}
