package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
	"github.com/kasuhara/kasuhara/server"
)

// drainCall is one call of the load run: when it started and ended, and
// how.
type drainCall struct {
	start, end time.Time
	code       codes.Code
	msg        string
}

// TestDrainOnSIGTERM runs the real binary on loopback under concurrent
// Classify load with a load balancer's health Watch open, sends SIGTERM
// mid-run while a long ClassifyBatch is being served, and checks the drain:
// health goes NOT_SERVING while admitted calls still run, every call sent
// before the signal succeeds, calls after it succeed or fail only with
// Unavailable, and the process exits 0 well within --shutdown-timeout,
// without cutting anything off.
func TestDrainOnSIGTERM(t *testing.T) {
	const grace = 8 * time.Second
	s := startServe(t, "--lexicon", "testdata/lexicon",
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "",
		"--shutdown-timeout", grace.String())
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := kasuharav1.NewClassifierClient(conn)

	// A load balancer watches health for as long as the connection lasts.
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: kasuharav1.Classifier_ServiceDesc.ServiceName})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch = %v, %v, want SERVING", h, err)
	}
	notServing := make(chan time.Time, 1)
	go func() {
		for {
			h, err := watch.Recv()
			if err != nil {
				return
			}
			if h.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
				select {
				case notServing <- time.Now():
				default:
				}
			}
		}
	}()

	// A batch long enough to be in flight through the signal and the drain.
	batch := &kasuharav1.ClassifyBatchRequest{}
	for range server.DefaultMaxBatch {
		batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Id: "b", Text: heavyText(16 << 10)})
	}
	var batchEnd time.Time
	batchErr := make(chan error, 1)
	go func() {
		_, err := client.ClassifyBatch(ctx, batch)
		batchEnd = time.Now()
		batchErr <- err
	}()

	// Concurrent unary load until each worker is refused.
	texts := []string{"責任者を出してください。", "発送はいつですか", "殺すぞ", heavyText(2 << 10)}
	var (
		mu      sync.Mutex
		calls   []drainCall
		ok      atomic.Int64
		stop    atomic.Bool
		workers sync.WaitGroup
	)
	for w := range 16 {
		workers.Go(func() {
			for i := w; !stop.Load(); i++ {
				c := drainCall{start: time.Now()}
				_, err := client.Classify(ctx, &kasuharav1.ClassifyRequest{Id: fmt.Sprint(i), Text: texts[i%len(texts)]})
				c.end, c.code = time.Now(), status.Code(err)
				if err != nil {
					c.msg = err.Error()
				}
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
				if err != nil {
					return
				}
				ok.Add(1)
			}
		})
	}

	// Signal once load is flowing and the server has started the batch.
	httpBase := "http://" + s.httpAddr
	batchStarted := func() bool {
		m := scrape(t, httpBase+"/metrics")
		return strings.Contains(m, `grpc_server_started_total{grpc_method="ClassifyBatch",grpc_service="kasuhara.v1.Classifier",grpc_type="unary"} 1`)
	}
	if !waitFor(20*time.Second, func() bool { return ok.Load() >= 100 && batchStarted() }) {
		t.Fatalf("load did not start: %d calls answered, batch started %v", ok.Load(), batchStarted())
	}
	healthz := make(chan time.Time, 1) // when /healthz first answered 503
	go func() {
		for {
			resp, err := http.Get(httpBase + "/healthz")
			if err != nil {
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				healthz <- time.Now()
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	sigAt := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("still running %v after SIGTERM", grace+5*time.Second)
	}
	exitAfter := time.Since(sigAt)
	stop.Store(true)
	workers.Wait()
	logText := s.logText()

	if exitErr != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", exitErr)
	}
	if exitAfter >= grace {
		t.Errorf("exited %v after SIGTERM, want within the %v grace period", exitAfter, grace)
	}
	if strings.Contains(logText, "graceful stop timed out") {
		t.Errorf("the drain timed out and cut calls off:\n%s", logText)
	}

	// Health went NOT_SERVING while an admitted call was still being served.
	if err := <-batchErr; err != nil {
		t.Errorf("the batch admitted before SIGTERM failed: %v", err)
	}
	if batchEnd.Before(sigAt) {
		t.Fatalf("the batch ended %v before SIGTERM: make it longer", sigAt.Sub(batchEnd))
	}
	select {
	case at := <-notServing:
		if !at.Before(batchEnd) {
			t.Errorf("health watch saw NOT_SERVING %v after the in-flight batch ended", at.Sub(batchEnd))
		}
	default:
		t.Error("the health watch never saw NOT_SERVING")
	}
	select {
	case at := <-healthz:
		if !at.Before(batchEnd) {
			t.Errorf("/healthz answered 503 only %v after the in-flight batch ended", at.Sub(batchEnd))
		}
	default:
		t.Error("/healthz never answered 503 during the drain")
	}

	// Every call sent before the signal succeeded; later ones succeeded or
	// were refused with Unavailable, nothing else.
	var before, after, refused int
	for _, c := range calls {
		switch {
		case c.start.Before(sigAt):
			before++
			if c.code != codes.OK {
				t.Errorf("a call sent %v before SIGTERM ended %v after it with %v: %s", sigAt.Sub(c.start), c.end.Sub(sigAt), c.code, c.msg)
			}
		case c.code == codes.OK:
			after++
		case c.code == codes.Unavailable:
			refused++
		default:
			t.Errorf("a call sent %v after SIGTERM failed with %v, want OK or Unavailable: %s", c.start.Sub(sigAt), c.code, c.msg)
		}
	}
	if refused == 0 {
		t.Error("no call was refused after shutdown started")
	}
	t.Logf("%d calls sent before SIGTERM, all OK; after it %d OK and %d refused Unavailable; exit %v after SIGTERM",
		before, after, refused, exitAfter.Round(time.Millisecond))
}

// scrape returns the body at url, or "" if it cannot be fetched.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
