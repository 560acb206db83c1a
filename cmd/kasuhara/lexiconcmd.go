package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/evaluation"
	"github.com/kasuhara/kasuhara/lexicon"
)

// lexiconCommands are the subcommands of kasuhara lexicon.
var lexiconCommands = []command{
	{"dump", "write the embedded default lexicon's files into a directory, the start of a custom lexicon", runLexiconDump},
	{"lint", "check a lexicon: what loading checks, and what needs the tokenizer; non-zero exit on any problem; --coverage: what never fires on a corpus; --forms: what an entry matches", runLexiconLint},
	{"diff", "which messages of a corpus change label between two lexicons, and because of which entries", runLexiconDiff},
}

func runLexicon(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatchCommands(ctx, "kasuhara lexicon", "subcommand", lexiconCommands, args, stdin, stdout, stderr)
}

// noArgs reports a usage error for positional arguments where a command
// takes flags only.
func noArgs(fs *flag.FlagSet, stderr io.Writer) error {
	if fs.NArg() == 0 {
		return nil
	}
	fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
	fs.Usage()
	return errUsage
}

// required reports a usage error for a string flag left empty.
func required(fs *flag.FlagSet, stderr io.Writer, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			fmt.Fprintf(stderr, "%s: --%s is required\n", fs.Name(), n)
			fs.Usage()
			return errUsage
		}
	}
	return nil
}

func runLexiconDump(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("lexicon dump", "--out DIR [--force]", stderr)
	out := fs.String("out", "", "`DIR` to write the default lexicon's files into; created if missing")
	force := fs.Bool("force", false, "overwrite files that exist in DIR")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, stderr); err != nil {
		return err
	}
	if err := required(fs, stderr, "out"); err != nil {
		return err
	}
	return dumpFiles(lexicon.DefaultFS(), *out, *force, stdout)
}

// dumpFiles copies every file at the root of src into dir byte for byte,
// naming each file written. Unless force, it writes nothing if any of the
// files exists in dir already.
func dumpFiles(src fs.FS, dir string, force bool, stdout io.Writer) error {
	ents, err := fs.ReadDir(src, ".")
	if err != nil {
		return fmt.Errorf("read default lexicon: %w", err)
	}
	var names, exist []string
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		names = append(names, e.Name())
		if _, err := os.Lstat(filepath.Join(dir, e.Name())); err == nil {
			exist = append(exist, filepath.Join(dir, e.Name()))
		}
	}
	switch {
	case force:
	case len(exist) == 1:
		return fmt.Errorf("dump: %s exists; --force overwrites it", exist[0])
	case len(exist) > 1:
		return fmt.Errorf("dump: %s and %d other files exist; --force overwrites them", exist[0], len(exist)-1)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	for _, name := range names {
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return fmt.Errorf("dump: read %s: %w", name, err)
		}
		path := filepath.Join(dir, name)
		if err := writeFile(path, flags, data); err != nil {
			return fmt.Errorf("dump: %w", err)
		}
		fmt.Fprintln(stdout, "wrote", path)
	}
	return nil
}

func writeFile(path string, flags int, data []byte) error {
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// errLintFailed is returned when lint found problems.
var errLintFailed = errors.New("lint found problems")

func runLexiconLint(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("lexicon lint", "[--lexicon DIR] [--json] [--coverage CORPUS.jsonl... | --forms ENTRY]", stderr)
	var cf classifierFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, `print one JSON object {"ok", "errors": [{"file", "line", "message"}], "entries", "version"}, with "coverage" under --coverage; under --forms, the forms`)
	coverage := fs.Bool("coverage", false, "also classify every message of the JSON Lines corpora given as arguments (after the flags) and list entries and phrases that never fire or fire on one message; advisory: they do not change the exit status")
	forms := fs.String("forms", "", "list what the entry whose pattern is `ENTRY` matches, compiled pattern by pattern, instead of linting")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *forms != "" && *coverage:
		fmt.Fprintf(stderr, "%s: --forms and --coverage do not go together\n", fs.Name())
		fs.Usage()
		return errUsage
	case *forms != "":
		if err := noArgs(fs, stderr); err != nil {
			return err
		}
		return printForms(&cf, *forms, *asJSON, stdout)
	case *coverage:
		if err := corpusArgs(fs, stderr); err != nil {
			return err
		}
	default:
		if err := noArgs(fs, stderr); err != nil {
			return err
		}
	}
	an, err := classifier.NewAnalyzer()
	if err != nil {
		return fmt.Errorf("new analyzer: %w", err)
	}
	cf.opts.Analyzer = an
	rep, err := evaluation.Lint(cf.lexiconDir, cf.opts)
	if err != nil {
		return err
	}
	var bad []evaluation.Problem
	if *coverage && rep.Entries > 0 {
		if rep.Coverage, bad, err = coverCorpora(&cf, fs.Args()); err != nil {
			if rep.OK {
				return err
			}
			// The lint problems say why (a phrase that compiles to nothing).
			fmt.Fprintf(stderr, "%s: no coverage: %v\n", fs.Name(), err)
		}
	}
	if *asJSON {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		for _, e := range rep.Errors {
			fmt.Fprintf(stdout, "%s:%d: %s\n", e.File, e.Line, e.Message)
		}
		if rep.OK {
			fmt.Fprintf(stdout, "ok: %d entries, lexicon version %s\n", rep.Entries, rep.Version)
		}
		if rep.Coverage != nil {
			writeCoverage(stdout, stderr, rep.Coverage)
		}
	}
	if !rep.OK {
		return fmt.Errorf("%w: %d in %s", errLintFailed, len(rep.Errors), lexiconName(cf.lexiconDir))
	}
	if len(bad) > 0 {
		return fmt.Errorf("coverage: %d bad corpus lines", len(bad))
	}
	return nil
}

// corpusArgs reports a usage error when --coverage has no corpus, or when
// a flag follows the corpora (the flag package stops at the first).
func corpusArgs(fs *flag.FlagSet, stderr io.Writer) error {
	msg := ""
	switch {
	case fs.NArg() == 0:
		msg = "--coverage needs at least one corpus file"
	default:
		for _, a := range fs.Args() {
			if strings.HasPrefix(a, "-") {
				msg = fmt.Sprintf("flag %q after the corpora; put flags first", a)
				break
			}
		}
	}
	if msg == "" {
		return nil
	}
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), msg)
	fs.Usage()
	return errUsage
}

// coverCorpora classifies every message of the corpora with --lexicon and
// reports what fired, and the corpus lines it could not use.
func coverCorpora(cf *classifierFlags, paths []string) (*evaluation.Coverage, []evaluation.Problem, error) {
	c, err := cf.build(cf.opts.Analyzer)
	if err != nil {
		return nil, nil, fmt.Errorf("coverage: %w", err)
	}
	cov, err := evaluation.Cover(c, cf.lexiconDir, paths)
	if err != nil {
		return nil, nil, err
	}
	return cov, cov.BadLines, nil
}

// writeCoverage prints the findings as lint prints its problems, then the
// summary; bad corpus lines go to stderr.
func writeCoverage(stdout, stderr io.Writer, cov *evaluation.Coverage) {
	for _, f := range cov.Findings {
		fmt.Fprintf(stdout, "%s:%d: %s\n", f.File, f.Line, f.Message)
	}
	for _, b := range cov.BadLines {
		fmt.Fprintf(stderr, "%s:%d: %s\n", b.File, b.Line, b.Message)
	}
	fmt.Fprintf(stdout, "%s; %d corpus files, %d bad lines\n", cov.Summary, len(cov.Corpora), len(cov.BadLines))
}

// printForms prints what an entry matches: per phrase, each compiled
// pattern on a line.
func printForms(cf *classifierFlags, entry string, asJSON bool, stdout io.Writer) error {
	lex, err := cf.loadLexicon()
	if err != nil {
		return err
	}
	forms, err := classifier.FormsOf(lex, entry, cf.opts)
	if err != nil {
		return fmt.Errorf("forms: %w", err)
	}
	if asJSON {
		out := make([]formsJSON, len(forms))
		for i, f := range forms {
			out[i] = formsJSON{File: evaluation.LexiconFile(cf.lexiconDir, f.Pos.File), Line: f.Pos.Line, Category: string(f.Category), Entry: f.Entry, Weight: f.Weight, Phrases: []phraseFormsJSON{}}
			for _, p := range f.Phrases {
				out[i].Phrases = append(out[i].Phrases, phraseFormsJSON{Phrase: p.Phrase, Patterns: append([]string{}, p.Patterns...), Error: p.Err})
			}
		}
		return printJSON(stdout, out)
	}
	bw := bufio.NewWriter(stdout)
	for _, f := range forms {
		fmt.Fprintf(bw, "%s:%d: %s entry %q, weight %.2f, %d phrases", evaluation.LexiconFile(cf.lexiconDir, f.Pos.File), f.Pos.Line, f.Category, f.Entry, f.Weight, len(f.Phrases))
		if len(f.Moods) > 0 {
			fmt.Fprintf(bw, ", moods %v", f.Moods)
		}
		fmt.Fprintln(bw)
		for _, p := range f.Phrases {
			if p.Err != "" {
				fmt.Fprintf(bw, "  %q: compiles to nothing: %s\n", p.Phrase, p.Err)
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

type formsJSON struct {
	File     string            `json:"file"`
	Line     int               `json:"line"`
	Category string            `json:"category"`
	Entry    string            `json:"entry"`
	Weight   float64           `json:"weight"`
	Phrases  []phraseFormsJSON `json:"phrases"`
}

type phraseFormsJSON struct {
	Phrase   string   `json:"phrase"`
	Patterns []string `json:"patterns"` // one line each, element by element
	Error    string   `json:"error,omitempty"`
}

// lexiconName names a --lexicon value for messages.
func lexiconName(dir string) string {
	if dir == "" {
		return "the default lexicon"
	}
	return dir
}

// defaultLexiconWord is what --old and --new take for the embedded lexicon.
const defaultLexiconWord = "default"

func runLexiconDiff(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("lexicon diff", "--old DIR|default --new DIR|default --corpus FILE.jsonl [flags]", stderr)
	var cf classifierFlags
	// The thresholds and size limit apply to both lexicons; --old and --new
	// stand for --lexicon.
	shared := flag.NewFlagSet("", flag.ContinueOnError)
	cf.register(shared)
	shared.VisitAll(func(f *flag.Flag) {
		if f.Name != "lexicon" {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	oldDir := fs.String("old", "", "the lexicon `DIR` before the change, or "+defaultLexiconWord+" for the embedded one")
	newDir := fs.String("new", "", "the lexicon `DIR` after the change, or "+defaultLexiconWord+" for the embedded one")
	corpus := fs.String("corpus", "", `JSON Lines `+"`FILE`"+` of {"id","text"}; a "label" is shown and counted when present`)
	asJSON := fs.Bool("json", false, "print one JSON object (changed, transitions) instead of prose")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, stderr); err != nil {
		return err
	}
	if err := required(fs, stderr, "old", "new", "corpus"); err != nil {
		return err
	}
	oldCF, newCF := cf, cf
	oldCF.lexiconDir, newCF.lexiconDir = lexiconDirArg(*oldDir), lexiconDirArg(*newDir)
	oldC, err := oldCF.build(nil)
	if err != nil {
		return fmt.Errorf("--old: %w", err)
	}
	newC, err := newCF.build(oldC.Analyzer())
	if err != nil {
		return fmt.Errorf("--new: %w", err)
	}
	msgs, err := evaluation.ReadCorpus(*corpus, false, oldC, newC)
	if err != nil {
		return err
	}
	rep := evaluation.Diff(msgs)
	rep.OldVersion, rep.NewVersion = oldC.Lexicon().Version, newC.Lexicon().Version
	if *asJSON {
		return printJSON(stdout, rep)
	}
	return evaluation.WriteDiff(stdout, rep)
}

// lexiconDirArg turns a --old or --new value into a --lexicon one.
func lexiconDirArg(s string) string {
	if s == defaultLexiconWord {
		return ""
	}
	return s
}
