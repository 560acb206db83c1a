package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// running is a server started through Run, as kasuhara serve starts it.
type running struct {
	httpAddr string
	client   kasuharav1.ClassifierClient
	admin    kasuharav1.LexiconAdminClient // nil when AdminAddr is ""
	conn     *grpc.ClientConn
}

// servingAddrs reads the addresses Run picked from its first log line.
var servingAddrs = regexp.MustCompile(`msg=serving grpc_addr=(\S+) http_addr=(\S+) admin_addr=(\S+)`)

// startRun runs Run with cfg on loopback ports it picks, serving the
// lexicon in dir ("" for the embedded default), until the test ends. It
// returns once Run has logged that it serves and, with a dir, once the
// directory is watched.
func startRun(t *testing.T, cfg Config, dir string) *running {
	t.Helper()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.MaxBatch, cfg.MaxBatchText, cfg.ShutdownTimeout = 8, 1<<20, 5*time.Second
	cfg.Limits.KeepaliveMinTime = DefaultKeepaliveMinTime
	if err := cfg.Limits.Set(DefaultMaxConcurrentStreams, cfg.MaxBatch, 4096, cfg.MaxBatchText); err != nil {
		t.Fatal(err)
	}
	an, err := classifier.NewAnalyzer()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Lexicon = LexiconSource{Dir: dir, Build: func() (*classifier.Classifier, error) {
		lex, err := lexicon.Default()
		if dir != "" {
			lex, err = lexicon.LoadDir(dir)
		}
		if err != nil {
			return nil, err
		}
		return classifier.New(lex, classifier.Options{Analyzer: an, MaxTextBytes: 4096})
	}}
	if dir != "" {
		cfg.watching = make(chan struct{})
	}
	pr, pw := io.Pipe()
	cfg.Log = slog.New(slog.NewTextHandler(pw, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if servingAddrs.MatchString(sc.Text()) {
				lines <- sc.Text()
			}
		}
		io.Copy(io.Discard, pr)
	}()
	var line string
	select {
	case line = <-lines:
	case err := <-done:
		t.Fatalf("Run ended before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not log that it serves")
	}
	if cfg.watching != nil {
		select {
		case <-cfg.watching:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not watch the lexicon directory")
		}
	}
	addrs := servingAddrs.FindStringSubmatch(line)
	r := &running{httpAddr: addrs[2], conn: dial(t, addrs[1])}
	r.client = kasuharav1.NewClassifierClient(r.conn)
	if addrs[3] != "off" {
		r.admin = kasuharav1.NewLexiconAdminClient(dial(t, addrs[3]))
	}
	return r
}

// lexiconDir is a directory holding lexA.
func lexiconDir(t *testing.T) string {
	dir := t.TempDir()
	writeLexicon(t, dir, lexA)
	return dir
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !waitFor(10*time.Second, cond) {
		t.Fatalf("after 10s, still not %s", what)
	}
}

// label is what r's Classifier says of text.
func (r *running) label(t *testing.T, text string) kasuharav1.Label {
	t.Helper()
	resp, err := r.client.Classify(context.Background(), &kasuharav1.ClassifyRequest{Id: "x", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetLabel()
}

// TestRunReloadsOnAFileChange: the directory watch is started by Run
// itself; a lexicon replaced on disk serves without a signal or an RPC.
func TestRunReloadsOnAFileChange(t *testing.T) {
	dir := lexiconDir(t)
	r := startRun(t, Config{}, dir) // no admin service, no periodic check
	if got := r.label(t, "殺すぞ"); got != kasuharav1.Label_LABEL_HARASSMENT {
		t.Fatalf("before the change: %v, want harassment", got)
	}
	writeLexicon(t, dir, lexB)
	eventually(t, "routine under the new lexicon", func() bool { return r.label(t, "殺すぞ") == kasuharav1.Label_LABEL_ROUTINE })
}

// TestRunReloadsOnSIGHUP: Run takes SIGHUP itself, before it says it
// serves, and a SIGHUP reloads (the file watch sees no change).
func TestRunReloadsOnSIGHUP(t *testing.T) {
	r := startRun(t, Config{AdminAddr: "127.0.0.1:0"}, lexiconDir(t))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reloaded by sighup", func() bool {
		st, err := r.admin.Get(context.Background(), &kasuharav1.GetLexiconRequest{})
		return err == nil && st.GetLastReload().GetTrigger() == triggerSIGHUP
	})
}

// TestRunAppliesMaxInFlight: the in-flight limit of Config.Limits is the
// one Run's server enforces.
func TestRunAppliesMaxInFlight(t *testing.T) {
	r := startRun(t, Config{Limits: Limits{MaxInFlight: 1}}, lexiconDir(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A unary call opened as a stream whose request is never sent holds
	// the one slot until ctx ends.
	if _, err := r.conn.NewStream(ctx, &grpc.StreamDesc{StreamName: "Classify"}, "/kasuhara.v1.Classifier/Classify"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "one call in flight", func() bool {
		metrics := (&httpTest{url: "http://" + r.httpAddr}).do(t, request{method: http.MethodGet, path: "/metrics"})
		return strings.Contains(string(metrics.body), "\nkasuhara_grpc_calls_in_flight 1\n")
	})
	_, err := r.client.Classify(ctx, &kasuharav1.ClassifyRequest{Text: "こんにちは"})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "server overloaded: 1 calls in flight") {
		t.Errorf("a second call with --max-in-flight 1: %v, want ResourceExhausted naming the limit", err)
	}
}
