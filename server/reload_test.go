package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	f.srv = newServer(f.reg, serverDeps{classifyTimeout: testClassifyTimeout, current: f.current, maxBatch: 8, log: log})
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

// flipUnderLoad calls call on 8 goroutines while f's lexicon flips 20
// times between lexB and lexA, each reloaded. call returns the lexicon
// version that answered, or what went wrong. The test fails on anything
// that went wrong, and unless both versions answered.
func flipUnderLoad(t *testing.T, f *reloadFixture, what string, call func() (version, failure string)) {
	t.Helper()
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		seen     = map[string]int{}
		answered int // calls that returned, either way
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
				v, failure := call()
				mu.Lock()
				answered++
				if failure != "" {
					failures = append(failures, failure)
				} else {
					seen[v]++
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
		// The next flip waits until a call made since this one has been
		// answered, so that each version serves some: of 9 answers after
		// the reload, at most 8 (one a goroutine) began before it.
		mu.Lock()
		before := answered
		mu.Unlock()
		if !waitFor(30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return answered >= before+9 }) {
			t.Fatalf("no %s answered within 30s of reload %d", what, i)
		}
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d %s failed or mixed versions, e.g. %s", len(failures), what, failures[0])
	}
	if len(seen) != 2 {
		t.Errorf("%s came from versions %v, want both lexicons", what, seen)
	}
}

func TestReloadUnderLoadNeverMixesVersions(t *testing.T) {
	f := newReloadFixture(t)
	vA := f.current.Load().Lexicon().Version
	flipUnderLoad(t, f, "calls", func() (string, string) {
		resp, err := f.client.Classify(context.Background(), &kasuharav1.ClassifyRequest{Id: "x", Text: "殺すぞ"})
		switch {
		case err != nil:
			return "", err.Error()
		case resp.GetLexiconVersion() == vA && resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT,
			resp.GetLexiconVersion() != vA && resp.GetLabel() != kasuharav1.Label_LABEL_ROUTINE:
			return "", "version " + resp.GetLexiconVersion() + " answered " + resp.GetLabel().String()
		}
		return resp.GetLexiconVersion(), ""
	})
}

// TestReloadUnderLoadAnswersEachBatchWithOneLexicon: batches sent while
// the lexicon flips between two versions are each answered whole, every
// response from the same lexicon and labelled by it.
func TestReloadUnderLoadAnswersEachBatchWithOneLexicon(t *testing.T) {
	f := newReloadFixture(t)
	vA := f.current.Load().Lexicon().Version
	const size = 8
	req := &kasuharav1.ClassifyBatchRequest{}
	for i := range size {
		req.Requests = append(req.Requests, &kasuharav1.ClassifyRequest{Id: string(rune('a' + i)), Text: "殺すぞ"})
	}
	flipUnderLoad(t, f, "batches", func() (string, string) {
		resp, err := f.client.ClassifyBatch(context.Background(), req)
		rs := resp.GetResponses()
		switch {
		case err != nil:
			return "", err.Error()
		case len(rs) != size:
			return "", fmt.Sprintf("a batch of %d answered with %d responses", size, len(rs))
		}
		v := rs[0].GetLexiconVersion()
		want := kasuharav1.Label_LABEL_ROUTINE
		if v == vA {
			want = kasuharav1.Label_LABEL_HARASSMENT
		}
		for _, r := range rs {
			if r.GetLexiconVersion() != v || r.GetLabel() != want {
				return "", fmt.Sprintf("one batch answered by %s and %s (%s)", v, r.GetLexiconVersion(), r.GetLabel())
			}
		}
		return v, ""
	})
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
	f.rl.watching = make(chan struct{})
	go func() { done <- f.rl.watchDir(ctx) }()
	select {
	case <-f.rl.watching:
	case err := <-done:
		t.Fatal(err)
	}
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
	hup, stop := notifySIGHUP() // SIGHUP is taken once it returns
	defer stop()
	go f.rl.reloadOnSIGHUP(ctx, hup)
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

// startWatch runs f's directory watch, checking its content every
// checkEvery (0: never), until the test ends, and waits until it watches.
func startWatch(t *testing.T, f *reloadFixture, checkEvery time.Duration) {
	t.Helper()
	f.rl.checkEvery = checkEvery
	f.rl.watching = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.rl.watchDir(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-f.rl.watching:
	case err := <-done:
		t.Fatalf("watch ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not start within 10s")
	}
}

// TestReloadWhenTheDirectoryIsReplaced: mv lex lex.old; cp -r lex.old lex,
// then an edit in the new lex, is reloaded. (The watch used to follow the
// old directory, and nothing reloaded.)
func TestReloadWhenTheDirectoryIsReplaced(t *testing.T) {
	f := newReloadFixture(t)
	startWatch(t, f, 0)
	before := f.current.Load().Lexicon().Version
	if err := os.Rename(f.dir, f.dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(f.dir+".old", "threat.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "threat.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The copy is the same lexicon; wait until its reload is done.
	if !waitFor(10*time.Second, func() bool { return f.rl.lexiconStatus().GetLastReload().GetTrigger() == triggerFile }) {
		t.Fatal("replacing the directory did not reload within 10s")
	}
	writeLexicon(t, f.dir, lexB)
	waitVersion(t, f, before)
	resp, err := f.client.Classify(context.Background(), &kasuharav1.ClassifyRequest{Text: "殺すぞ"})
	if err != nil || resp.GetLabel() != kasuharav1.Label_LABEL_ROUTINE {
		t.Errorf("after the edit in the new directory: %v, %v; want lexB answering", resp, err)
	}
}

// configMap lays dir out as Kubernetes mounts a ConfigMap: the files in a
// timestamped directory, ..data a symlink to it, and each file a symlink
// through ..data. Each call makes a new timestamped directory and swaps
// ..data to it atomically, as the kubelet does.
func configMap(t *testing.T, dir, name, content string) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_12_01_"+name)
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "threat.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "threat.yaml")
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return
	}
	os.Remove(link)
	if err := os.Symlink("..data/threat.yaml", link); err != nil {
		t.Fatal(err)
	}
}

// TestReloadOnConfigMapSymlinkSwap: a Kubernetes ConfigMap update, which
// swaps the ..data symlink and touches no *.yaml name, is reloaded. (It
// used to be ignored.)
func TestReloadOnConfigMapSymlinkSwap(t *testing.T) {
	f := newReloadFixture(t)
	configMap(t, f.dir, "a", lexA)
	startWatch(t, f, 0)
	before := f.current.Load().Lexicon().Version
	configMap(t, f.dir, "b", lexB)
	waitVersion(t, f, before)
	if got := f.rl.lexiconStatus().GetLastReload().GetTrigger(); got != triggerFile {
		t.Errorf("trigger %q, want %q", got, triggerFile)
	}
}

// TestReloadOnPeriodicCheck: a change no watch sees (here, a lexicon file
// symlinked from another directory, edited there) is reloaded by the
// periodic content check. (Nothing used to look.)
func TestReloadOnPeriodicCheck(t *testing.T) {
	f := newReloadFixture(t)
	elsewhere := t.TempDir()
	writeLexicon(t, elsewhere, lexA)
	os.Remove(filepath.Join(f.dir, "threat.yaml"))
	if err := os.Symlink(filepath.Join(elsewhere, "threat.yaml"), filepath.Join(f.dir, "threat.yaml")); err != nil {
		t.Fatal(err)
	}
	f.rl.checked = make(chan struct{})
	startWatch(t, f, 100*time.Millisecond)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) }) // before the watch ends: cleanups run last first
	go func() {                       // checks go by until the test counts them
		for {
			select {
			case <-f.rl.checked:
			case <-stop:
				return
			}
		}
	}()
	before := f.current.Load().Lexicon().Version
	writeLexicon(t, elsewhere, lexB)
	waitVersion(t, f, before)
	if got := f.rl.lexiconStatus().GetLastReload().GetTrigger(); got != triggerCheck {
		t.Errorf("trigger %q, want %q", got, triggerCheck)
	}
	// Unchanged content is not reloaded again and again: over the next
	// five checks no reload reads the clock.
	<-f.rl.checked // the check under way when the change was seen
	f.rl.mu.Lock()
	var reloads atomic.Int64
	f.rl.now = func() time.Time { reloads.Add(1); return time.Now() }
	f.rl.mu.Unlock()
	for range 5 {
		<-f.rl.checked
	}
	if n := reloads.Load(); n != 0 {
		t.Errorf("%d reloads in five checks with nothing changed, want none", n)
	}
}

// TestReloadReportsAnUnreadableDirectory: a lexicon directory that is gone,
// or cannot be read, is reported as such, and the last good lexicon keeps
// serving. (Both used to be reported as "no *.yaml files".)
func TestReloadReportsAnUnreadableDirectory(t *testing.T) {
	t.Run("gone", func(t *testing.T) {
		f := newReloadFixture(t)
		if err := os.RemoveAll(f.dir); err != nil {
			t.Fatal(err)
		}
		err := f.rl.reload(triggerRPC)
		if err == nil || !strings.Contains(err.Error(), "read lexicon directory") || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("reload of a removed directory: %v, want it to say the directory does not exist", err)
		}
		if got := testutil.ToFloat64(f.rl.lastOK); got != 0 {
			t.Errorf("last_reload_successful = %v, want 0", got)
		}
	})
	t.Run("unreadable, then readable again", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any directory: permissions cannot make one unreadable")
		}
		f := newReloadFixture(t)
		startWatch(t, f, 0)
		writeLexicon(t, f.dir, lexB)
		if err := os.Chmod(filepath.Join(f.dir, "threat.yaml"), 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f.dir, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(f.dir, 0o755) })
		err := f.rl.reload(triggerRPC)
		if err == nil || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("reload of an unreadable directory: %v, want permission denied", err)
		}
		before := f.current.Load().Lexicon().Version
		if err := os.Chmod(f.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(f.dir, "threat.yaml"), 0o644); err != nil {
			t.Fatal(err)
		}
		waitVersion(t, f, before) // the chmod back is a change
	})
}
