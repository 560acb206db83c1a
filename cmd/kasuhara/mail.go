package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/mailfilter"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
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
		filter.Classify = func(_ context.Context, text string) (mailfilter.Verdict, error) {
			r, err := c.Classify(text)
			if err != nil {
				return mailfilter.Verdict{}, err
			}
			return verdictOf(r), nil
		}
		return filter, func() {}, nil
	}
	var key string
	if f.serverKeyFile != "" {
		if key, err = readAPIKey(f.serverKeyFile); err != nil {
			return nil, nil, err
		}
	}
	conn, err := grpc.NewClient(f.server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("--server %s: %w", f.server, err)
	}
	client := kasuharav1.NewClassifierClient(conn)
	timeout := f.serverTimeout
	filter.Classify = func(ctx context.Context, text string) (mailfilter.Verdict, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if key != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
		}
		resp, err := client.Classify(ctx, &kasuharav1.ClassifyRequest{Text: text})
		if err != nil {
			return mailfilter.Verdict{}, fmt.Errorf("classify on %s: %w", f.server, err)
		}
		return verdictOfProto(resp)
	}
	return filter, func() { conn.Close() }, nil
}

// readAPIKey returns the first key in path, read as --api-key-file is.
func readAPIKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--server-api-key-file: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
	return "", fmt.Errorf("--server-api-key-file %s: no key, want one a line", path)
}

func verdictOf(r classifier.Result) mailfilter.Verdict {
	scores := make(map[string]float64, len(r.Categories))
	for c, s := range r.Categories {
		scores[string(c)] = s
	}
	return mailfilter.Verdict{Label: r.Label.String(), Score: r.Score, Categories: byScore(scores), Lexicon: r.LexiconVersion}
}

func verdictOfProto(resp *kasuharav1.ClassifyResponse) (mailfilter.Verdict, error) {
	l := classifier.Label(resp.GetLabel())
	if l <= classifier.LabelUnspecified || l > classifier.Harassment {
		return mailfilter.Verdict{}, fmt.Errorf("server answered label %v, want routine|escalate|harassment", resp.GetLabel())
	}
	return mailfilter.Verdict{Label: l.String(), Score: resp.GetScore(), Categories: byScore(resp.GetCategoryScores()), Lexicon: resp.GetLexiconVersion()}, nil
}

// byScore lists category names, highest score first, then by name.
func byScore(scores map[string]float64) []string {
	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if scores[names[i]] != scores[names[j]] {
			return scores[names[i]] > scores[names[j]]
		}
		return names[i] < names[j]
	})
	return names
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
