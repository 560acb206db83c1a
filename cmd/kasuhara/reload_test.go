package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// Two lexicons that disagree about one message: under lexA "殺すぞ" is
// harassment, under lexB it is routine.
const (
	lexA = "category: threat\nentries:\n  - {pattern: 殺す, weight: 1.0}\n"
	lexB = "category: threat\nentries:\n  - {pattern: 刺す, weight: 1.0}\n"
)

type reloadFixture struct {
	dir     string
	reg     *prometheus.Registry
	current *atomic.Pointer[classifier.Classifier]
	rl      *reloader
	srv     *server
	client  kasuharav1.ClassifierClient
	admin   kasuharav1.LexiconAdminClient
}

// writeLexicon replaces threat.yaml the way editors do: a new file renamed
// over the old one.
func writeLexicon(t *testing.T, dir, content string) {
	t.Helper()
	tmp := filepath.Join(dir, ".threat.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "threat.yaml")); err != nil {
		t.Fatal(err)
	}
}

func newReloadFixture(t *testing.T) *reloadFixture {
	t.Helper()
	f := &reloadFixture{dir: t.TempDir(), reg: prometheus.NewRegistry(), current: &atomic.Pointer[classifier.Classifier]{}}
	writeLexicon(t, f.dir, lexA)
	an, err := classifier.NewAnalyzer()
	if err != nil {
		t.Fatal(err)
	}
	build := func() (*classifier.Classifier, error) {
		lex, err := lexicon.LoadDir(f.dir)
		if err != nil {
			return nil, err
		}
		return classifier.New(lex, classifier.Options{Analyzer: an})
	}
	c, err := build()
	if err != nil {
		t.Fatal(err)
	}
	f.current.Store(c)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.srv = newServer(f.reg, serverDeps{current: f.current, maxBatch: 8, log: log})
	f.rl = newReloader(f.reg, f.dir, build, f.current, func(c *classifier.Classifier) { f.srv.metrics.setLexicon(c.Lexicon()) }, log)
	f.srv.admin = grpc.NewServer()
	kasuharav1.RegisterLexiconAdminServer(f.srv.admin, &adminServer{r: f.rl})

	dial := func(s *grpc.Server) *grpc.ClientConn {
		lis := bufconn.Listen(1 << 20)
		go s.Serve(lis)
		t.Cleanup(s.Stop)
		conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	f.client = kasuharav1.NewClassifierClient(dial(f.srv.grpc))
	f.admin = kasuharav1.NewLexiconAdminClient(dial(f.srv.admin))
	return f
}

func TestReloadUnderLoadNeverMixesVersions(t *testing.T) {
	f := newReloadFixture(t)
	vA := f.current.Load().Lexicon().Version
	ctx := context.Background()

	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		seen     = map[string]int{}
		failures []string
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := f.client.Classify(ctx, &kasuharav1.ClassifyRequest{Id: "x", Text: "殺すぞ"})
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case resp.GetLexiconVersion() == vA && resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT,
					resp.GetLexiconVersion() != vA && resp.GetLabel() != kasuharav1.Label_LABEL_ROUTINE:
					failures = append(failures, "version "+resp.GetLexiconVersion()+" answered "+resp.GetLabel().String())
				default:
					seen[resp.GetLexiconVersion()]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 20; i++ {
		content := lexB
		if i%2 == 1 {
			content = lexA
		}
		writeLexicon(t, f.dir, content)
		if err := f.rl.reload(triggerRPC); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d calls failed or mixed versions, e.g. %s", len(failures), failures[0])
	}
	if len(seen) != 2 {
		t.Errorf("responses came from versions %v, want both lexicons", seen)
	}
}

func TestBadReloadKeepsTheLastGoodLexicon(t *testing.T) {
	for _, tt := range []struct{ name, content, want string }{
		{"broken YAML", "category: threat\nentries: [\n", "invalid YAML"},
		{"unknown key", "category: threat\nentries:\n  - {pattern: 刺す, wieght: 1}\n", `unknown key "wieght"`},
		{"weight out of range", "category: threat\nentries:\n  - {pattern: 刺す, weight: 3}\n", "out of range"},
		{"an example that does not fire", "category: threat\nentries:\n  - {pattern: 刺す, weight: 1, examples: [お元気ですか]}\n", "お元気ですか"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newReloadFixture(t)
			before := f.current.Load().Lexicon().Version
			writeLexicon(t, f.dir, tt.content)
			_, err := f.admin.Reload(context.Background(), &kasuharav1.ReloadRequest{})
			if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), before) {
				t.Fatalf("Reload err = %v, want FailedPrecondition naming %q and the serving version", err, tt.want)
			}
			resp, err := f.client.Classify(context.Background(), &kasuharav1.ClassifyRequest{Text: "殺すぞ"})
			if err != nil || resp.GetLexiconVersion() != before || resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT {
				t.Fatalf("after a bad reload: %v, %v; want the old lexicon answering", resp, err)
			}
			if got := testutil.ToFloat64(f.rl.lastOK); got != 0 {
				t.Errorf("last_reload_successful = %v, want 0", got)
			}
			if got := testutil.ToFloat64(f.rl.failures); got != 1 {
				t.Errorf("reload_failures_total = %v, want 1", got)
			}
			st, err := f.admin.Get(context.Background(), &kasuharav1.GetLexiconRequest{})
			if err != nil || st.GetVersion() != before || st.GetLastReload().GetSuccessful() || st.GetLastReload().GetTrigger() != "rpc" {
				t.Errorf("Get = %v, %v", st, err)
			}

			writeLexicon(t, f.dir, lexB) // fixed: the next reload succeeds
			st, err = f.admin.Reload(context.Background(), &kasuharav1.ReloadRequest{})
			if err != nil || st.GetVersion() == before || !st.GetLastReload().GetSuccessful() || st.GetEntries()["threat"] != 1 {
				t.Fatalf("Reload after fix = %v, %v", st, err)
			}
			if got := testutil.ToFloat64(f.rl.lastOK); got != 1 {
				t.Errorf("last_reload_successful = %v, want 1", got)
			}
			if got := testutil.ToFloat64(f.srv.metrics.lexiconInfo.WithLabelValues(st.GetVersion())); got != 1 {
				t.Errorf("kasuhara_lexicon_info{version=%q} = %v, want 1", st.GetVersion(), got)
			}
		})
	}
}

// waitVersion polls until the serving version differs from old.
func waitVersion(t *testing.T, f *reloadFixture, old string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if v := f.current.Load().Lexicon().Version; v != old {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("version still %s after 10s", old)
	return ""
}

func TestReloadOnFileChange(t *testing.T) {
	f := newReloadFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.rl.watchDir(ctx) }()
	time.Sleep(50 * time.Millisecond) // let the watch start
	before := f.current.Load().Lexicon().Version
	writeLexicon(t, f.dir, lexB)
	waitVersion(t, f, before)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	f := newReloadFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.rl.watchSIGHUP(ctx)
	time.Sleep(50 * time.Millisecond) // let signal.Notify take SIGHUP
	before := f.current.Load().Lexicon().Version
	writeLexicon(t, f.dir, lexB)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, f, before)
	if got := f.rl.lexiconStatus().GetLastReload().GetTrigger(); got != "sighup" {
		t.Errorf("trigger %q, want sighup", got)
	}
}
