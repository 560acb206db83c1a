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
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
	"github.com/kasuhara/kasuhara/server"
)

// drainCall is one call of the load run: whether it was sent before the
// signal, and how it ended.
type drainCall struct {
	beforeSignal bool
	code         codes.Code
	msg          string
}

// sentKey keys the *atomic.Bool a call's context carries for sentMarker.
type sentKey struct{}

// sentMarker is a client stats handler that sets the *atomic.Bool under
// sentKey in a call's context when the call's headers are queued on a
// connection that is not draining, if the test has not yet signalled: such
// a call surely reached the server before SIGTERM did, which a clock read
// before the call cannot tell on a loaded machine.
type sentMarker struct{ signalled *atomic.Bool }

func (sentMarker) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (h sentMarker) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if _, ok := s.(*stats.OutHeader); !ok || h.signalled.Load() {
		return
	}
	if sent, ok := ctx.Value(sentKey{}).(*atomic.Bool); ok {
		sent.Store(true)
	}
}

func (sentMarker) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (sentMarker) HandleConn(context.Context, stats.ConnStats) {}

// TestDrainOnSIGTERM runs the real binary on loopback under concurrent
// Classify load with a load balancer's health Watch open and a
// ClassifyStream held open by the test, sends SIGTERM, and checks the
// drain: health goes NOT_SERVING (on the Watch and on /healthz) while the
// admitted stream is still served, every call sent before the signal
// succeeds, calls after it succeed or fail only with Unavailable, and once
// the stream ends the process exits 0 without cutting anything off.
//
// Each step waits for the one before on a channel, a health check or a
// call's answer, never on the clock, so that it holds on a loaded machine:
// the stream stays in flight for as long as the test needs, whatever the
// CPUs are doing. The timeouts are only there to fail rather than hang.
func TestDrainOnSIGTERM(t *testing.T) {
	// Long enough never to cut a call off on a loaded machine: a cut-off
	// is a failure (the log says so), however soon it comes.
	const grace = time.Minute
	s := startServe(t, "--lexicon", "testdata/lexicon",
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "",
		"--stream-idle-timeout", "0", "--shutdown-timeout", grace.String())
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var signalled atomic.Bool // set just before SIGTERM
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(sentMarker{&signalled}))
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
	notServing := make(chan struct{})
	go func() {
		for {
			h, err := watch.Recv()
			if err != nil {
				return
			}
			if h.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
				close(notServing)
				return
			}
		}
	}()

	// A stream admitted before the signal, held open by the test: the
	// server must keep serving it through the drain.
	stream, err := client.ClassifyStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	streamCall := func(id string) error {
		if err := stream.Send(&kasuharav1.ClassifyRequest{Id: id, Text: "殺すぞ"}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		resp, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		if resp.GetId() != id || resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT {
			return fmt.Errorf("answer %v, want id %q, harassment", resp, id)
		}
		return nil
	}
	if err := streamCall("s1"); err != nil {
		t.Fatalf("stream before SIGTERM: %v", err)
	}

	// A full batch sent before the signal: it must succeed, whenever it ends.
	batch := &kasuharav1.ClassifyBatchRequest{}
	for range server.DefaultMaxBatch {
		batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Id: "b", Text: heavyText(2 << 10)})
	}
	batchErr := make(chan error, 1)
	go func() {
		resp, err := client.ClassifyBatch(ctx, batch)
		if err == nil && len(resp.GetResponses()) != len(batch.Requests) {
			err = fmt.Errorf("%d responses, want %d", len(resp.GetResponses()), len(batch.Requests))
		}
		batchErr <- err
	}()

	// Concurrent unary load until each worker is refused.
	texts := []string{"責任者を出してください。", "発送はいつですか", "殺すぞ", heavyText(2 << 10)}
	var (
		mu      sync.Mutex
		calls   []drainCall
		ok      atomic.Int64
		workers sync.WaitGroup
	)
	for w := range 16 {
		workers.Go(func() {
			for i := w; ; i++ {
				var sent atomic.Bool
				_, err := client.Classify(context.WithValue(ctx, sentKey{}, &sent), &kasuharav1.ClassifyRequest{Id: fmt.Sprint(i), Text: texts[i%len(texts)]})
				c := drainCall{beforeSignal: sent.Load(), code: status.Code(err)}
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
	if !waitFor(time.Minute, func() bool { return ok.Load() >= 100 && batchStarted() }) {
		t.Fatalf("load did not start: %d calls answered, batch started %v", ok.Load(), batchStarted())
	}
	signalled.Store(true)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Health says NOT_SERVING, on the watch and on /healthz, while the
	// stream admitted before the signal is still open.
	select {
	case <-notServing:
	case <-ctx.Done():
		t.Fatal("the health watch never saw NOT_SERVING")
	}
	if !waitFor(time.Minute, func() bool {
		resp, err := http.Get(httpBase + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}) {
		t.Fatal("/healthz never answered 503 while the stream was open")
	}
	// Every worker is refused before the stream ends: new calls are turned
	// away while an admitted one still runs.
	workers.Wait()
	if err := streamCall("s2"); err != nil {
		t.Errorf("the stream admitted before SIGTERM, during the drain: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("the stream ended with %v, want a clean end (EOF)", err)
	}

	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(grace + 30*time.Second):
		t.Fatalf("still running %v after the last call ended", grace+30*time.Second)
	}
	logText := s.logText()
	if exitErr != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", exitErr)
	}
	if strings.Contains(logText, "graceful stop timed out") {
		t.Errorf("the drain timed out and cut calls off:\n%s", logText)
	}
	if err := <-batchErr; err != nil {
		t.Errorf("the batch sent before SIGTERM failed: %v", err)
	}

	// Every call sent before the signal succeeded; later ones succeeded or
	// were refused with Unavailable, nothing else.
	var before, after, refused int
	for _, c := range calls {
		switch {
		case c.beforeSignal:
			before++
			if c.code != codes.OK {
				t.Errorf("a call sent before SIGTERM failed with %v: %s", c.code, c.msg)
			}
		case c.code == codes.OK:
			after++
		case c.code == codes.Unavailable:
			refused++
		default:
			t.Errorf("a call sent after SIGTERM failed with %v, want OK or Unavailable: %s", c.code, c.msg)
		}
	}
	if refused == 0 {
		t.Error("no call was refused after shutdown started")
	}
	t.Logf("%d calls sent before SIGTERM, all OK; after it %d OK and %d refused Unavailable", before, after, refused)
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
