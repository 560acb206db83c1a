package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kasuhara/kasuhara/mailfilter"
	"github.com/kasuhara/kasuhara/mailfilter/verdict"
)

// DefaultMaxMessageBytes is the largest message mail and milter read; a
// larger one passes unscored. It is Postfix's default message_size_limit.
const DefaultMaxMessageBytes = 10240000

// mailFlags are the flags mail and milter share.
type mailFlags struct {
	classifierFlags
	server          string
	serverKeyFile   string
	serverTimeout   time.Duration
	maxMessageBytes int64
}

func (f *mailFlags) register(fs *flag.FlagSet) {
	f.classifierFlags.register(fs)
	fs.StringVar(&f.server, "server", "", "classify through the kasuhara gRPC server at `HOST:PORT` instead of in-process (its thresholds and lexicon then decide)")
	fs.StringVar(&f.serverKeyFile, "server-api-key-file", "", "with --server, a `FILE` whose first key (blank lines and # comments skipped) is sent as authorization: Bearer, for a server started with --api-key-file")
	fs.DurationVar(&f.serverTimeout, "server-timeout", 10*time.Second, "with --server, how long one message may take before it passes unscored")
	fs.Int64Var(&f.maxMessageBytes, "max-message-bytes", DefaultMaxMessageBytes, "largest message read and scored; a larger one passes with X-Kasuhara-Error")
}

func (f *mailFlags) validate() error {
	switch {
	case f.maxMessageBytes <= 0:
		return fmt.Errorf("--max-message-bytes %d, want > 0", f.maxMessageBytes)
	case f.server != "" && f.serverTimeout <= 0:
		return fmt.Errorf("--server-timeout %v, want > 0", f.serverTimeout)
	case f.server == "" && f.serverKeyFile != "":
		return fmt.Errorf("--server-api-key-file needs --server")
	}
	return nil
}

// filter builds the mailfilter.Filter the flags ask for: in-process on
// --lexicon, or through --server. close releases it.
func (f *mailFlags) filter() (filter *mailfilter.Filter, close func(), err error) {
	filter = &mailfilter.Filter{MaxTextBytes: f.opts.MaxTextBytes}
	if f.server == "" {
		c, err := f.build(nil)
		if err != nil {
			return nil, nil, err
		}
		filter.Classify = verdict.Local(c)
		return filter, func() {}, nil
	}
	o := verdict.RemoteOptions{Timeout: f.serverTimeout}
	if f.serverKeyFile != "" {
		if o.APIKey, err = verdict.ReadAPIKey(f.serverKeyFile); err != nil {
			return nil, nil, fmt.Errorf("--server-api-key-file: %w", err)
		}
	}
	if filter.Classify, close, err = verdict.Remote(f.server, o); err != nil {
		return nil, nil, fmt.Errorf("--server: %w", err)
	}
	return filter, close, nil
}

func runMail(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("mail", "[flags] < message > message", stderr)
	var mf mailFlags
	mf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kasuhara mail: unexpected argument %q; the message comes on stdin\n", fs.Arg(0))
		return errUsage
	}
	if err := mf.validate(); err != nil {
		return err
	}
	// Read the message before anything can fail: from here on it is
	// always written out.
	msg, err := io.ReadAll(io.LimitReader(stdin, mf.maxMessageBytes+1))
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	out := bufio.NewWriter(stdout)
	var o mailfilter.Outcome
	tooLarge := int64(len(msg)) > mf.maxMessageBytes
	if tooLarge {
		o = mailfilter.TooLarge(mf.maxMessageBytes)
	} else {
		o = checkMail(ctx, &mf, msg)
	}
	// X-Kasuhara-* fields the sender wrote go, as the milter deletes them:
	// the only verdict in the message is this one.
	_, err = out.Write(mailfilter.AddFields(mailfilter.DropFields(msg), o.Fields()))
	if err == nil && tooLarge {
		_, err = io.Copy(out, stdin)
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		return fmt.Errorf("write stdout: %w", err)
	}
	if o.Verdict == nil {
		// Never message text: mailfilter errors name only what was wrong.
		fmt.Fprintf(stderr, "kasuhara mail: passed unscored: %v\n", o.Err)
	} else if skipped := o.SkippedValue(); skipped != "" {
		fmt.Fprintf(stderr, "kasuhara mail: scored without what it could not read: %s\n", skipped)
	}
	return nil
}

// checkMail checks one message, turning a classifier that cannot be built
// into an outcome so that the message still passes.
func checkMail(ctx context.Context, mf *mailFlags, msg []byte) mailfilter.Outcome {
	f, closeFilter, err := mf.filter()
	if err != nil {
		return mailfilter.Failed(err)
	}
	defer closeFilter()
	return f.Check(ctx, msg)
}
