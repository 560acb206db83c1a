// Command kasuhara screens Japanese customer messages for customer
// harassment: a gRPC service and command-line tools around one classifier.
//
//	kasuhara serve     serve gRPC and Prometheus metrics
//	kasuhara classify  label JSON Lines from stdin
//	kasuhara explain   show how one message is read and scored
//	kasuhara lexicon   dump, lint or diff lexicons
//	kasuhara eval      score a labelled corpus
//	kasuhara mail      add verdict headers to one mail (a pipe filter)
//	kasuhara milter    add verdict headers as a Postfix/Sendmail milter
//	kasuhara version   print the build version
//
// This package is only wiring: flags, subcommand dispatch and printing.
// The service is package server, the milter mailfilter/milter, scoring and
// lexicon diff package evaluation, and classifying package classifier.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kasuhara/kasuhara/server"
)

// command is one subcommand. run parses args on its own FlagSet.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "serve the gRPC API and Prometheus metrics", runServe},
	{"classify", "label JSON Lines ({\"id\",\"text\"}) from stdin, one JSON line out per line in", runClassify},
	{"explain", "show how a message (argument or stdin) is normalised, tokenised and scored", runExplain},
	{"lexicon", "dump, lint or diff lexicons (kasuhara lexicon -h lists the subcommands)", runLexicon},
	{"eval", "score a labelled corpus: per-label precision, recall, F1, confusion, misclassified messages", runEval},
	{"mail", "filter one RFC 5322 message from stdin to stdout, adding X-Kasuhara-* verdict headers", runMail},
	{"milter", "a Postfix/Sendmail milter adding X-Kasuhara-* verdict headers (--on-harassment tag|quarantine|reject)", runMilter},
	{"version", "print the build version", runVersion},
}

// errUsage marks errors that a usage message already explained.
var errUsage = errors.New("usage")

// exitCode maps an error from a subcommand to the process exit status.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, "kasuhara:", err)
	}
	os.Exit(exitCode(err))
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatchCommands(ctx, "kasuhara", "command", commands, args, stdin, stdout, stderr)
}

// dispatchCommands runs the one of cmds that args[0] names with the rest
// of args. With no args, or -h, --help or help, it prints the usage of
// prog (say "kasuhara lexicon"), whose cmds are each a noun (say
// "subcommand"); so does an unknown name, after saying so.
func dispatchCommands(ctx context.Context, prog, noun string, cmds []command, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, prog, noun, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown %s %q\n", prog, noun, args[0])
	usage(stderr, prog, noun, cmds)
	return errUsage
}

// usage lists cmds, the noun of prog, with their summaries in a column.
func usage(w io.Writer, prog, noun string, cmds []command) {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name)+1)
	}
	fmt.Fprintf(w, "usage: %s %s [flags]\n\n%ss:\n", prog, strings.ToUpper(noun), noun)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, "\n%s %s -h lists a %s's flags.\n", prog, strings.ToUpper(noun), noun)
}

// newFlagSet makes a FlagSet whose errors are returned, not fatal.
func newFlagSet(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kasuhara "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: kasuhara %s %s\n\nflags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into errUsage (the FlagSet
// has already printed them).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, err := fmt.Fprintln(stdout, "kasuhara", server.Version())
	return err
}
