package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	written, err := lexicon.Dump(lexicon.DefaultFS(), *out, *force)
	for _, p := range written {
		fmt.Fprintln(stdout, "wrote", p)
	}
	if ee := (*lexicon.ExistError)(nil); errors.As(err, &ee) {
		them := "it"
		if len(ee.Paths) > 1 {
			them = "them"
		}
		return fmt.Errorf("dump: %w; --force overwrites %s", err, them)
	} else if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	return nil
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
		evaluation.WriteLint(stdout, stderr, rep)
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

// printForms prints what an entry matches: per phrase, each compiled
// pattern on a line.
func printForms(cf *classifierFlags, entry string, asJSON bool, stdout io.Writer) error {
	lex, err := cf.loadLexicon()
	if err != nil {
		return err
	}
	forms, err := evaluation.Forms(lex, cf.lexiconDir, entry, cf.opts)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, forms)
	}
	return evaluation.WriteForms(stdout, forms)
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
