package evaluation

import (
	"bufio"
	"fmt"
	"io"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
)

// EntryForms is what one entry matches, as kasuhara lexicon lint --forms
// prints it, and its JSON form.
type EntryForms struct {
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Category string        `json:"category"`
	Entry    string        `json:"entry"`
	Weight   float64       `json:"weight"`
	Moods    []string      `json:"-"`
	Phrases  []PhraseForms `json:"phrases"`
}

// PhraseForms is what one phrase of an entry compiles to.
type PhraseForms struct {
	Phrase   string   `json:"phrase"`
	Patterns []string `json:"patterns"` // one line each, element by element
	Error    string   `json:"error,omitempty"`
}

// Forms compiles the phrases of the entries of lex, loaded from dir ("" for
// the embedded default), whose pattern is entry, as a classifier with opts
// would.
func Forms(lex *lexicon.Set, dir, entry string, opts classifier.Options) ([]EntryForms, error) {
	forms, err := classifier.FormsOf(lex, entry, opts)
	if err != nil {
		return nil, fmt.Errorf("forms: %w", err)
	}
	out := make([]EntryForms, len(forms))
	for i, f := range forms {
		out[i] = EntryForms{File: LexiconFile(dir, f.Pos.File), Line: f.Pos.Line, Category: string(f.Category), Entry: f.Entry, Weight: f.Weight, Phrases: []PhraseForms{}}
		for _, m := range f.Moods {
			out[i].Moods = append(out[i].Moods, fmt.Sprint(m))
		}
		for _, p := range f.Phrases {
			out[i].Phrases = append(out[i].Phrases, PhraseForms{Phrase: p.Phrase, Patterns: append([]string{}, p.Patterns...), Error: p.Err})
		}
	}
	return out, nil
}

// WriteForms prints forms as lint --forms does: per entry a line, then per
// phrase each compiled pattern on a line.
func WriteForms(w io.Writer, forms []EntryForms) error {
	bw := bufio.NewWriter(w)
	for _, f := range forms {
		fmt.Fprintf(bw, "%s:%d: %s entry %q, weight %.2f, %d phrases", f.File, f.Line, f.Category, f.Entry, f.Weight, len(f.Phrases))
		if len(f.Moods) > 0 {
			fmt.Fprintf(bw, ", moods %v", f.Moods)
		}
		fmt.Fprintln(bw)
		for _, p := range f.Phrases {
			if p.Error != "" {
				fmt.Fprintf(bw, "  %q: compiles to nothing: %s\n", p.Phrase, p.Error)
			}
			for i, pat := range p.Patterns {
				n := ""
				if len(p.Patterns) > 1 {
					n = fmt.Sprintf(" (%d/%d)", i+1, len(p.Patterns))
				}
				fmt.Fprintf(bw, "  %q%s: %s\n", p.Phrase, n, pat)
			}
		}
	}
	return bw.Flush()
}

// WriteLint prints rep as lint does: each problem at its file and line,
// "ok: N entries, lexicon version V" when there are none, then the
// coverage findings if any; bad corpus lines go to errw.
func WriteLint(w, errw io.Writer, rep LintReport) {
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "%s:%d: %s\n", e.File, e.Line, e.Message)
	}
	if rep.OK {
		fmt.Fprintf(w, "ok: %d entries, lexicon version %s\n", rep.Entries, rep.Version)
	}
	if cov := rep.Coverage; cov != nil {
		for _, f := range cov.Findings {
			fmt.Fprintf(w, "%s:%d: %s\n", f.File, f.Line, f.Message)
		}
		for _, b := range cov.BadLines {
			fmt.Fprintf(errw, "%s:%d: %s\n", b.File, b.Line, b.Message)
		}
		fmt.Fprintf(w, "%s; %d corpus files, %d bad lines\n", cov.Summary, len(cov.Corpora), len(cov.BadLines))
	}
}
