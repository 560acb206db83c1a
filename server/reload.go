package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kasuhara/kasuhara/classifier"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// Reload triggers, as reported in LexiconStatus and logs.
const (
	triggerStart  = "start"
	triggerSIGHUP = "sighup"
	triggerFile   = "file"
	triggerRPC    = "rpc"
	triggerCheck  = "check" // the periodic content check
)

// reloader is the one path every reload takes, whatever asked for it:
// build the new classifier outside any lock, swap it in atomically only if
// it is valid, and otherwise keep the last good one serving and say so.
type reloader struct {
	source  string // lexicon directory; "" for the embedded default
	build   func() (*classifier.Classifier, error)
	current *atomic.Pointer[classifier.Classifier]
	onSwap  func(*classifier.Classifier) // records the new lexicon in metrics
	log     *slog.Logger
	now     func() time.Time
	// checkEvery is how often watchDir compares the directory's content
	// with what the last reload read; 0: never.
	checkEvery time.Duration
	// watching, if set, is closed once watchDir's watches are in place;
	// checked, if set, is sent to after each content check (tests).
	watching chan struct{}
	checked  chan struct{}

	lastOK        prometheus.Gauge
	lastOKSeconds prometheus.Gauge
	failures      prometheus.Counter

	mu     sync.Mutex // one reload at a time; guards status and hash
	status *kasuharav1.ReloadStatus
	hash   string // contentHash of the source as the last reload read it
}

// lastHash is the content hash the last reload read.
func (r *reloader) lastHash() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hash
}

func newReloader(reg prometheus.Registerer, source string, build func() (*classifier.Classifier, error),
	current *atomic.Pointer[classifier.Classifier], onSwap func(*classifier.Classifier), log *slog.Logger) *reloader {
	r := &reloader{
		source: source, build: build, current: current, onSwap: onSwap, log: log, now: time.Now,
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "kasuhara", Subsystem: "lexicon", Name: "last_reload_successful",
			Help: "Whether the last lexicon reload succeeded (1) or failed and the previous lexicon kept serving (0).",
		}),
		lastOKSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "kasuhara", Subsystem: "lexicon", Name: "last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful lexicon load.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kasuhara", Subsystem: "lexicon", Name: "reload_failures_total",
			Help: "Lexicon reloads that failed; the previous lexicon kept serving.",
		}),
	}
	reg.MustRegister(r.lastOK, r.lastOKSeconds, r.failures)
	if source != "" {
		r.hash = contentHash(source) // what the first load read, near enough
	}
	t := r.now()
	r.lastOK.Set(1)
	r.lastOKSeconds.Set(float64(t.Unix()))
	r.status = &kasuharav1.ReloadStatus{Trigger: triggerStart, Successful: true, AttemptedUnix: t.Unix(), SucceededUnix: t.Unix()}
	return r
}

// reload builds a classifier from the source and swaps it in if it builds
// and lints clean. The error lists every problem found.
func (r *reloader) reload(trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.now()
	r.status.Trigger, r.status.AttemptedUnix = trigger, t.Unix()
	var c *classifier.Classifier
	var err error
	if r.source != "" {
		r.hash = contentHash(r.source)
		// Loading finds no *.yaml files in a directory it cannot read:
		// say what is wrong instead.
		if _, rerr := os.ReadDir(r.source); rerr != nil {
			err = fmt.Errorf("read lexicon directory: %w", rerr)
		}
	}
	if err == nil {
		c, err = r.build()
	}
	if err == nil {
		// Lint too: an entry whose examples no longer fire is a broken
		// lexicon, however well it parses.
		if problems := classifier.Lint(c.Lexicon(), c.Options()); len(problems) > 0 {
			err = errors.Join(problems...)
		}
	}
	if err != nil {
		r.failures.Inc()
		r.lastOK.Set(0)
		r.status.Successful, r.status.Error = false, err.Error()
		r.log.Error("lexicon reload failed; the previous lexicon keeps serving",
			"trigger", trigger, "version", r.current.Load().Lexicon().Version, "err", err)
		return err
	}
	old := r.current.Swap(c)
	r.onSwap(c)
	r.lastOK.Set(1)
	r.lastOKSeconds.Set(float64(t.Unix()))
	r.status.Successful, r.status.Error, r.status.SucceededUnix = true, "", t.Unix()
	r.log.Info("lexicon reloaded", "trigger", trigger, "old_version", old.Lexicon().Version, "version", c.Lexicon().Version)
	return nil
}

// lexiconStatus describes the serving lexicon and the last reload.
func (r *reloader) lexiconStatus() *kasuharav1.LexiconStatus {
	r.mu.Lock()
	last := proto.Clone(r.status).(*kasuharav1.ReloadStatus)
	r.mu.Unlock()
	lex := r.current.Load().Lexicon()
	st := &kasuharav1.LexiconStatus{Version: lex.Version, Entries: map[string]int32{}, Source: r.source, LastReload: last}
	if st.Source == "" {
		st.Source = "embedded"
	}
	for c, n := range lex.Count() {
		st.Entries[string(c)] = int32(n)
	}
	return st
}

// adminServer is the LexiconAdmin gRPC service.
type adminServer struct {
	kasuharav1.UnimplementedLexiconAdminServer
	r *reloader
}

func (a *adminServer) Reload(context.Context, *kasuharav1.ReloadRequest) (*kasuharav1.LexiconStatus, error) {
	if err := a.r.reload(triggerRPC); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "lexicon not reloaded, %s keeps serving: %v",
			a.r.current.Load().Lexicon().Version, err)
	}
	return a.r.lexiconStatus(), nil
}

func (a *adminServer) Get(context.Context, *kasuharav1.GetLexiconRequest) (*kasuharav1.LexiconStatus, error) {
	return a.r.lexiconStatus(), nil
}

// notifySIGHUP takes SIGHUP from the process from now on, so that one sent
// once it returns is delivered on hup instead of killing the process; stop
// gives it back.
func notifySIGHUP() (hup <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// reloadOnSIGHUP reloads on every signal on hup until ctx ends.
func (r *reloader) reloadOnSIGHUP(ctx context.Context, ch <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			_ = r.reload(triggerSIGHUP) // logged and counted by reload
		}
	}
}

// reloadDebounce is how long the directory must be quiet after a change
// before a reload: editors write a file as several events (write, rename).
const reloadDebounce = 300 * time.Millisecond

// DefaultLexiconCheckInterval is how often serve compares the lexicon
// directory's content with what it last loaded, for changes no watch sees.
const DefaultLexiconCheckInterval = 30 * time.Second

// watchDir reloads when the lexicon directory's content changes, seen in
// three ways:
//   - the directory is watched, not its files, because editors save by
//     writing a new file and renaming it over the old one; a change to a
//     *.yaml file (a chmod too: a file made readable again) or to an entry
//     named ..* (a Kubernetes ConfigMap mount swaps its ..data symlink)
//     counts;
//   - its parent is watched for the directory itself being replaced (mv
//     lex lex.old; cp -r lex.old lex), and the new one is watched in turn;
//   - every r.checkEvery the content is hashed and compared with what the
//     last reload read, for what no watch sees (a file symlinked from
//     elsewhere, a network file system).
func (r *reloader) watchDir(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch lexicon directory: %w", err)
	}
	defer w.Close()
	dir, err := filepath.Abs(r.source)
	if err != nil {
		return fmt.Errorf("watch lexicon directory %s: %w", r.source, err)
	}
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch lexicon directory %s: %w", r.source, err)
	}
	if err := w.Add(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("watch lexicon directory's parent %s: %w", filepath.Dir(dir), err)
	}
	if r.watching != nil {
		close(r.watching)
	}
	var check <-chan time.Time
	if r.checkEvery > 0 {
		t := time.NewTicker(r.checkEvery)
		defer t.Stop()
		check = t.C
	}
	var timer *time.Timer
	fire := make(chan struct{}, 1)
	changed := func() {
		if timer == nil {
			timer = time.AfterFunc(reloadDebounce, func() {
				select {
				case fire <- struct{}{}:
				default:
				}
			})
		} else {
			timer.Reset(reloadDebounce)
		}
	}
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			switch {
			case ev.Name == dir:
				// The directory itself was created, renamed or removed
				// under its name: watch whatever is there now.
				if ev.Has(fsnotify.Create) {
					if err := w.Add(dir); err != nil {
						r.log.Warn("lexicon directory watch", "err", err)
					}
				}
				changed()
			case filepath.Dir(ev.Name) != dir:
				// Another entry of the parent.
			case strings.HasSuffix(ev.Name, ".yaml"), strings.HasPrefix(filepath.Base(ev.Name), ".."):
				changed()
			}
		case <-check:
			if h := contentHash(r.source); h != r.lastHash() {
				_ = r.reload(triggerCheck)
			}
			if r.checked != nil {
				select {
				case r.checked <- struct{}{}:
				case <-ctx.Done():
				}
			}
		case <-fire:
			_ = r.reload(triggerFile)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.log.Warn("lexicon directory watch", "err", err)
		}
	}
}

// contentHash sums the names and contents of dir's *.yaml files as reading
// them finds them, errors included, so that a file becoming readable again
// changes it.
func contentHash(dir string) string {
	h := sha256.New()
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintf(h, "error %v", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(h, "%s\x00%d\x00%v\x00", e.Name(), len(data), err)
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))
}
