package main

import (
	"flag"
	"fmt"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
)

// classifierFlags are the flags every subcommand that classifies shares.
type classifierFlags struct {
	lexiconDir string
	opts       classifier.Options
}

func (f *classifierFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.lexiconDir, "lexicon", "", "lexicon `DIR` of *.yaml files (default: the embedded default lexicon)")
	fs.Float64Var(&f.opts.HarassmentThreshold, "harassment-threshold", classifier.DefaultHarassmentThreshold,
		"harassment score at or above which a message is harassment, in (0,1]")
	fs.Float64Var(&f.opts.EscalateThreshold, "escalate-threshold", classifier.DefaultEscalateThreshold,
		"harassment or escalation score at or above which a message is escalate, in (0,1]")
	fs.IntVar(&f.opts.MaxTextBytes, "max-text-bytes", classifier.DefaultMaxTextBytes, "largest message text accepted, in bytes")
}

// loadLexicon loads --lexicon, or the embedded default.
func (f *classifierFlags) loadLexicon() (*lexicon.Set, error) {
	if f.lexiconDir == "" {
		return lexicon.Default()
	}
	return lexicon.LoadDir(f.lexiconDir)
}

// build loads the lexicon and compiles a classifier around an (optionally
// shared) analyzer.
func (f *classifierFlags) build(an *classifier.Analyzer) (*classifier.Classifier, error) {
	if f.opts.MaxTextBytes <= 0 {
		return nil, fmt.Errorf("--max-text-bytes %d, want > 0", f.opts.MaxTextBytes)
	}
	lex, err := f.loadLexicon()
	if err != nil {
		return nil, err
	}
	opts := f.opts
	opts.Analyzer = an
	c, err := classifier.New(lex, opts)
	if err != nil {
		return nil, fmt.Errorf("compile lexicon: %w", err)
	}
	return c, nil
}
