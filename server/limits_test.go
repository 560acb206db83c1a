package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// limitedServer is a whole gRPC server (newServer) over bufconn, with
// limits, its registry and its log.
type limitedServer struct {
	srv  *server
	reg  *prometheus.Registry
	conn *grpc.ClientConn
	c    kasuharav1.ClassifierClient
	logs *syncBuffer
}

type limitedOptions struct {
	maxText, maxBatch int
	maxBatchText      int // 0: no limit
	limits            Limits
	sendTimeout       time.Duration // 0: streamSendTimeout
	classifyTimeout   time.Duration // 0: testClassifyTimeout
	classifyText      func(*classifier.Classifier, context.Context, string) (classifier.Result, error)
	// register adds test-only services before the server starts.
	register func(*grpc.Server)
}

func startLimited(t *testing.T, o limitedOptions) *limitedServer {
	t.Helper()
	lex, err := lexicon.LoadDir("testdata/lexicon")
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.New(lex, classifier.Options{MaxTextBytes: o.maxText})
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[classifier.Classifier]
	cur.Store(c)
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	srv := newServer(reg, serverDeps{current: &cur, maxBatch: o.maxBatch, maxBatchText: o.maxBatchText, limits: o.limits, streamSendTimeout: o.sendTimeout,
		classifyTimeout: cmp.Or(o.classifyTimeout, testClassifyTimeout), classifyText: o.classifyText, log: slog.New(slog.NewTextHandler(logs, nil))})
	if o.register != nil {
		o.register(srv.grpc)
	}
	lis := bufconn.Listen(1 << 20)
	go srv.grpc.Serve(lis)
	t.Cleanup(srv.grpc.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &limitedServer{srv: srv, reg: reg, conn: conn, c: kasuharav1.NewClassifierClient(conn), logs: logs}
}

// testClassifyTimeout is the per-message limit of test servers not
// testing it: on a loaded machine under the race detector a message may
// take longer than DefaultClassifyTimeout, and the tests are not about that.
const testClassifyTimeout = time.Hour

// metricValue is the value of the counter, gauge or untyped series name
// whose labels include want, summed over matching series; ok is false if
// none matches.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (v float64, ok bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, w := range want {
				if labels[k] != w {
					continue series
				}
			}
			ok = true
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return v, ok
}

// waitFor polls cond until it holds or d passes; it reports whether it held.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestDerivedReceiveLimitAdmitsAFullBatch: the derived --max-recv-bytes
// admits every batch the server would answer, --max-batch messages with
// long ids and --max-batch-text-bytes of text together, and no more: a
// unary call cannot make the server read 256 full texts (16 MiB), which
// it would refuse for their total anyway. (The limit used to admit them,
// so that every Classify could be 16 MiB read before it was refused.)
func TestDerivedReceiveLimitAdmitsAFullBatch(t *testing.T) {
	full := &kasuharav1.ClassifyBatchRequest{}
	for range DefaultMaxBatch {
		full.Requests = append(full.Requests, &kasuharav1.ClassifyRequest{
			Id: strings.Repeat("i", 512), Text: strings.Repeat("あ", DefaultMaxBatchTextBytes/DefaultMaxBatch/3),
		})
	}
	limit := maxRecvBytesFor(DefaultMaxBatch, classifier.DefaultMaxTextBytes, DefaultMaxBatchTextBytes)
	if got := proto.Size(full); got > limit {
		t.Errorf("a full default batch is %d bytes, over the derived limit %d", got, limit)
	}
	if max := DefaultMaxBatchTextBytes + 1<<20; limit > max {
		t.Errorf("the derived limit is %d bytes, want <= %d: no more than the batch text bound and its ids", limit, max)
	}

	// End to end: a full batch passes, a larger message is refused by gRPC.
	const maxText, maxBatch = 1024, 4
	l := Limits{KeepaliveMinTime: DefaultKeepaliveMinTime}
	if err := l.Set(DefaultMaxConcurrentStreams, maxBatch, maxText, 0); err != nil {
		t.Fatal(err)
	}
	ls := startLimited(t, limitedOptions{maxText: maxText, maxBatch: maxBatch, limits: l})
	batch := &kasuharav1.ClassifyBatchRequest{}
	for range maxBatch {
		batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Id: "m", Text: strings.Repeat("a", maxText)})
	}
	if _, err := ls.c.ClassifyBatch(context.Background(), batch); err != nil {
		t.Fatalf("full batch: %v", err)
	}
	huge := &kasuharav1.ClassifyRequest{Text: strings.Repeat("a", l.MaxRecvBytes)}
	_, err := ls.c.Classify(context.Background(), huge)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max") {
		t.Errorf("message over --max-recv-bytes: %v, want ResourceExhausted", err)
	}
}

// heavyText is a message that takes a while to classify: a customer's long
// complaint that mentions the testdata lexicon's 責任者 throughout.
func heavyText(bytes int) string {
	const s = "注文した商品がまだ届きません。返金の手続きはどうなっていますか。責任者から説明してください。"
	return strings.Repeat(s, bytes/len(s))
}

// TestDeadlineAbandonsBatch: a batch whose call deadline passes while one
// of its messages is being classified is answered DeadlineExceeded, the
// message is given up, and the messages after it are never classified.
// The slow message is a stand-in that takes until its context ends, so
// the test waits on events, not on how fast this machine is.
func TestDeadlineAbandonsBatch(t *testing.T) {
	const slow = "この文はいつまでも終わらない"
	// The per-message limit is far off: the call's deadline ends the wait.
	ls := startLimited(t, limitedOptions{maxText: 65536, maxBatch: 8, classifyTimeout: time.Hour, classifyText: slowOn(slow)})
	batch := &kasuharav1.ClassifyBatchRequest{}
	for i := range 8 {
		text := "責任者を出してください"
		if i == 3 {
			text = slow
		}
		batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Text: text})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := ls.c.ClassifyBatch(ctx, batch)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	// The handler returns (its code is DeadlineExceeded or, when the
	// client's cancellation lands first, Canceled) having classified the
	// three messages before the slow one and none after it: once it has
	// returned, nothing goes on in the background.
	returned := func() bool {
		v, _ := metricValue(t, ls.reg, "grpc_server_handled_total", map[string]string{"grpc_method": "ClassifyBatch"})
		return v == 1
	}
	if !waitFor(30*time.Second, returned) {
		t.Fatal("the handler still ran 30s after its 200ms deadline")
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_classify_messages_total", nil); v != 3 {
		t.Errorf("%v messages classified, want the 3 before the slow one", v)
	}
}

// endlessStream is a ClassifyStream server side whose client never stops
// sending and never reads a cancellation: only the handler's own check of
// its context ends it.
type endlessStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent atomic.Int64
}

func (s *endlessStream) Context() context.Context { return s.ctx }
func (s *endlessStream) Recv() (*kasuharav1.ClassifyRequest, error) {
	return &kasuharav1.ClassifyRequest{Id: "m", Text: "責任者を出せ"}, nil
}
func (s *endlessStream) Send(*kasuharav1.ClassifyResponse) error { s.sent.Add(1); return nil }
func (s *endlessStream) SetHeader(metadata.MD) error             { return nil }
func (s *endlessStream) SendHeader(metadata.MD) error            { return nil }
func (s *endlessStream) SetTrailer(metadata.MD)                  {}

func TestDeadlineEndsStream(t *testing.T) {
	t.Run("the handler checks its context between messages", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		cs := &classifierServer{current: testClassifier(t), metrics: newMetrics(prometheus.NewRegistry()), maxBatch: 1,
			log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		fs := &endlessStream{ctx: ctx}
		done := make(chan error, 1)
		go func() { done <- cs.ClassifyStream(fs) }()
		select {
		case err := <-done:
			if status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("err = %v, want DeadlineExceeded", err)
			}
			if fs.sent.Load() == 0 {
				t.Error("no message answered before the deadline")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the stream handler ran 30s past its 50ms deadline")
		}
	})

	t.Run("a client's deadline ends the stream promptly on both sides", func(t *testing.T) {
		ls := startLimited(t, limitedOptions{maxText: 65536, maxBatch: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		stream, err := ls.c.ClassifyStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		text := heavyText(16 << 10)
		go func() {
			for stream.Send(&kasuharav1.ClassifyRequest{Id: "m", Text: text}) == nil {
			}
		}()
		for err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("err = %v, want DeadlineExceeded", err)
		}
		ended := func() bool {
			v, _ := metricValue(t, ls.reg, "grpc_server_handled_total", map[string]string{"grpc_method": "ClassifyStream"})
			return v == 1
		}
		if !waitFor(30*time.Second, ended) {
			t.Error("the server's stream handler still runs 30s after the deadline")
		}
	})
}

// testClassifier is the testdata lexicon's classifier, ready to serve.
func testClassifier(t *testing.T) *atomic.Pointer[classifier.Classifier] {
	t.Helper()
	lex, err := lexicon.LoadDir("testdata/lexicon")
	return serving(t, lex, err)
}

// serving is a classifier of lex (which failed to load if err is set),
// ready to serve.
func serving(tb testing.TB, lex *lexicon.Set, err error) *atomic.Pointer[classifier.Classifier] {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
	c, err := classifier.New(lex, classifier.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var cur atomic.Pointer[classifier.Classifier]
	cur.Store(c)
	return &cur
}

func TestOverloadIsRefusedAtOnce(t *testing.T) {
	ls := startLimited(t, limitedOptions{maxText: 1024, maxBatch: 4, limits: Limits{MaxInFlight: 2}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Two calls being classified hold both slots.
	release := holdSlots(t, ls.srv.adm, 2)
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_calls_in_flight", nil); v != 2 {
		t.Errorf("calls in flight = %v, want 2", v)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"unary", func() error {
			_, err := ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: "こんにちは"})
			return err
		}},
		{"batch", func() error {
			_, err := ls.c.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{Requests: []*kasuharav1.ClassifyRequest{{Text: "こんにちは"}}})
			return err
		}},
		{"stream", func() error {
			s, err := ls.c.ClassifyStream(ctx)
			if err != nil {
				return err
			}
			s.Send(&kasuharav1.ClassifyRequest{Text: "こんにちは"})
			_, err = s.Recv()
			return err
		}},
	}
	// The slots stay held until release below, so a call that waited for
	// one instead of being refused would wait until ctx ends and fail
	// DeadlineExceeded: refused at all means refused at once.
	for _, c := range calls {
		err := c.call()
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "overloaded") {
			t.Errorf("%s past the limit: %v, want ResourceExhausted", c.name, err)
		}
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_overload_rejected_total", nil); v != 3 {
		t.Errorf("kasuhara_grpc_overload_rejected_total = %v, want 3", v)
	}
	// Unary calls are refused before any handler or interceptor runs; the
	// stream's message inside its handler.
	if v, _ := metricValue(t, ls.reg, "grpc_server_handled_total", map[string]string{"grpc_code": "ResourceExhausted"}); v != 1 {
		t.Errorf("grpc_server_handled_total{grpc_code=ResourceExhausted} = %v, want 1 (the stream)", v)
	}

	// Health is never limited.
	if h, err := healthpb.NewHealthClient(ls.conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health under overload = %v, %v", h, err)
	}

	// Once the calls end, their slots serve others.
	release()
	if _, err := ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: "こんにちは"}); err != nil {
		t.Errorf("with a slot free: %v", err)
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_calls_in_flight", nil); v != 0 {
		t.Errorf("calls in flight = %v after every call ended, want 0", v)
	}
}

// TestOverloadIsRefusedBeforeTheRequestIsRead: past --max-in-flight a unary
// call is refused as soon as its headers arrive, without waiting for its
// request, which a hostile or slow client may never finish sending. (The
// server used to read the whole request first: 300 calls waited in RecvMsg
// before admission.)
func TestOverloadIsRefusedBeforeTheRequestIsRead(t *testing.T) {
	ls := startLimited(t, limitedOptions{maxText: 1024, maxBatch: 4, limits: Limits{MaxInFlight: 2}})
	holdSlots(t, ls.srv.adm, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, method := range []string{"Classify", "ClassifyBatch"} {
		// A unary call opened as a stream, so that its request is never sent.
		desc := &grpc.StreamDesc{StreamName: method}
		s, err := ls.conn.NewStream(ctx, desc, "/kasuhara.v1.Classifier/"+method)
		if err != nil {
			t.Fatal(err)
		}
		// The request is never sent: a server that waited for it would
		// answer only when ctx ends, DeadlineExceeded.
		var out kasuharav1.ClassifyResponse
		err = s.RecvMsg(&out)
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "server overloaded: 2 calls in flight") {
			t.Errorf("%s past the limit, request unsent: %v, want ResourceExhausted naming the limit", method, err)
		}
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_overload_rejected_total", nil); v != 2 {
		t.Errorf("kasuhara_grpc_overload_rejected_total = %v, want 2", v)
	}
}

// TestGRPCAPIKeys: with --api-key-file the Classifier service wants a listed
// key in the call's metadata, as authorization: Bearer KEY (the scheme in
// any case) or x-api-key: KEY, refusing others Unauthenticated before
// reading their requests; health and reflection need none. (Keys used to
// apply to the HTTP routes only.)
func TestGRPCAPIKeys(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{keys: []string{"# ops", "k-ops", "k-web"}})
	tests := []struct {
		name string
		md   []string
		want codes.Code
	}{
		{"no key", nil, codes.Unauthenticated},
		{"an unknown key", []string{"authorization", "Bearer nope"}, codes.Unauthenticated},
		{"a key without a scheme", []string{"authorization", "k-ops"}, codes.Unauthenticated},
		{"a comment line is no key", []string{"x-api-key", "# ops"}, codes.Unauthenticated},
		{"Bearer and a listed key", []string{"authorization", "Bearer k-ops"}, codes.OK},
		{"the scheme in lower case", []string{"authorization", "bearer k-web"}, codes.OK},
		{"the scheme in upper case", []string{"authorization", "BEARER k-web"}, codes.OK},
		{"x-api-key", []string{"x-api-key", "k-ops"}, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), tt.md...)
			_, err := ht.grpc.Classify(ctx, &kasuharav1.ClassifyRequest{Text: "殺すぞ"})
			if status.Code(err) != tt.want {
				t.Errorf("Classify: %v, want %v", err, tt.want)
			}
			_, err = ht.grpc.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{Requests: []*kasuharav1.ClassifyRequest{{Text: "殺すぞ"}}})
			if status.Code(err) != tt.want {
				t.Errorf("ClassifyBatch: %v, want %v", err, tt.want)
			}
			s, err := ht.grpc.ClassifyStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s.Send(&kasuharav1.ClassifyRequest{Text: "殺すぞ"})
			if _, err = s.Recv(); status.Code(err) != tt.want {
				t.Errorf("ClassifyStream: %v, want %v", err, tt.want)
			}
			if tt.want == codes.Unauthenticated && !strings.Contains(status.Convert(err).Message(), "authorization: Bearer KEY") {
				t.Errorf("the refusal %q does not say how to send a key", status.Convert(err).Message())
			}
		})
	}
	t.Run("health and reflection need no key", func(t *testing.T) {
		if h, err := healthpb.NewHealthClient(ht.conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health without a key: %v, %v", h, err)
		}
		rs, err := reflectionpb.NewServerReflectionClient(ht.conn).ServerReflectionInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Recv(); err != nil {
			t.Errorf("reflection without a key: %v", err)
		}
	})
}

func TestAdmissionBoundsConcurrency(t *testing.T) {
	const limit, workers, perWorker = 4, 32, 20
	reg := prometheus.NewRegistry()
	g := &gate{adm: newAdmission(reg, limit)}
	var now, peak, admitted, refused atomic.Int64
	// call is one unary call: the gate at its headers, the handler, then
	// its stream's end, which cancels its context.
	call := func(method string) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := g.tap(ctx, &tap.Info{FullMethodName: method}); err != nil {
			return err
		}
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Millisecond)
		now.Add(-1)
		return nil
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				switch err := call("/kasuhara.v1.Classifier/Classify"); status.Code(err) {
				case codes.OK:
					admitted.Add(1)
				case codes.ResourceExhausted:
					refused.Add(1)
				default:
					t.Errorf("err = %v", err)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p == 0 {
		t.Errorf("peak concurrency %d, want 1 to %d", p, limit)
	}
	if admitted.Load()+refused.Load() != workers*perWorker || refused.Load() == 0 {
		t.Errorf("admitted %d, refused %d of %d", admitted.Load(), refused.Load(), workers*perWorker)
	}
	if got := testutil.ToFloat64(g.adm.rejected); got != float64(refused.Load()) {
		t.Errorf("rejected counter %v, want %d", got, refused.Load())
	}
	if !waitFor(5*time.Second, func() bool { return g.adm.inFlight.Load() == 0 }) {
		t.Errorf("%d slots still held", g.adm.inFlight.Load())
	}

	t.Run("other services are never refused", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		g := &gate{adm: newAdmission(reg, 1)}
		if !g.adm.acquire() {
			t.Fatal("first slot refused")
		}
		for _, m := range []string{"/grpc.health.v1.Health/Check", "/kasuhara.v1.ClassifierX/Classify",
			"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"} {
			if _, err := g.tap(context.Background(), &tap.Info{FullMethodName: m}); err != nil {
				t.Errorf("%s with every slot taken: %v", m, err)
			}
		}
	})
}

// panickerDesc is a test-only service whose handlers panic, registered on
// the real server to go through its interceptors. A panic value may quote a
// request; it must not reach the log.
var panickerDesc = grpc.ServiceDesc{
	ServiceName: "kasuhara.v1test.Panicker",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Classify",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(kasuharav1.ClassifyRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { panic("殺す in request " + in.GetId()) }
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/kasuhara.v1test.Panicker/Classify"}, h)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "ClassifyStream",
		ServerStreams: true, ClientStreams: true,
		Handler: func(any, grpc.ServerStream) error {
			var m map[string]int
			m["殺す"]++ // a runtime error: assignment to entry in nil map
			return nil
		},
	}},
}

func TestPanicIsAnsweredInternalAndServingGoesOn(t *testing.T) {
	ls := startLimited(t, limitedOptions{maxText: 1024, maxBatch: 4, limits: Limits{MaxInFlight: 4},
		register: func(s *grpc.Server) { s.RegisterService(&panickerDesc, struct{}{}) }})
	ctx := context.Background()

	var out kasuharav1.ClassifyResponse
	err := ls.conn.Invoke(ctx, "/kasuhara.v1test.Panicker/Classify", &kasuharav1.ClassifyRequest{Id: "cust-42", Text: "x"}, &out)
	if status.Code(err) != codes.Internal || status.Convert(err).Message() != "internal error" {
		t.Errorf("unary panic: %v, want Internal \"internal error\"", err)
	}
	s, err := ls.conn.NewStream(ctx, &panickerDesc.Streams[0], "/kasuhara.v1test.Panicker/ClassifyStream")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecvMsg(&out); status.Code(err) != codes.Internal || status.Convert(err).Message() != "internal error" {
		t.Errorf("stream panic: %v, want Internal \"internal error\"", err)
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_panics_recovered_total", nil); v != 2 {
		t.Errorf("kasuhara_grpc_panics_recovered_total = %v, want 2", v)
	}

	// The server goes on answering, on the same connection.
	resp, err := ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Id: "after", Text: "殺すぞ"})
	if err != nil || resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT {
		t.Errorf("after the panics: %v, %v", resp, err)
	}

	logs := ls.logs.String()
	for _, want := range []string{"method=/kasuhara.v1test.Panicker/Classify panic=string",
		`method=/kasuhara.v1test.Panicker/ClassifyStream panic="assignment to entry in nil map"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "殺す") || strings.Contains(logs, "cust-42") {
		t.Errorf("log carries request content:\n%s", logs)
	}
}

// holdSlots takes n of adm's slots, as n calls being classified would,
// and returns what gives them back; the test's end gives back any left.
func holdSlots(t *testing.T, adm *admission, n int) (release func()) {
	t.Helper()
	for range n {
		if !adm.acquire() {
			t.Fatal("no slot free to hold")
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			for range n {
				adm.release()
			}
		})
	}
	t.Cleanup(release)
	return release
}

// openIdleStreams opens n ClassifyStreams on c: the first half each send
// one message and read its answer, then go quiet; the rest never send.
func openIdleStreams(t *testing.T, ctx context.Context, c kasuharav1.ClassifierClient, n int) []kasuharav1.Classifier_ClassifyStreamClient {
	t.Helper()
	var out []kasuharav1.Classifier_ClassifyStreamClient
	for i := range n {
		s, err := c.ClassifyStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i < n/2 {
			if err := s.Send(&kasuharav1.ClassifyRequest{Id: "s", Text: "責任者を出せ"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
		}
		out = append(out, s)
	}
	return out
}

// TestIdleStreamsHoldNoSlot: streams that are open but send nothing, before
// their first message or after an answer, hold no in-flight slot, so with
// more of them open than --max-in-flight every other client is served. (The
// server used to admit a stream for as long as it was open: 130 idle
// streams refused every other call.)
func TestIdleStreamsHoldNoSlot(t *testing.T) {
	const limit = 2
	ls := startLimited(t, limitedOptions{maxText: 1024, maxBatch: 4, limits: Limits{MaxInFlight: limit}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The server's streams have started once the server counts them.
	openIdleStreams(t, ctx, ls.c, 5*limit)
	if !waitFor(10*time.Second, func() bool {
		v, _ := metricValue(t, ls.reg, "grpc_server_started_total", map[string]string{"grpc_method": "ClassifyStream"})
		return v == 5*limit
	}) {
		t.Fatal("the server did not start every stream")
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_calls_in_flight", nil); v != 0 {
		t.Errorf("calls in flight = %v with only idle streams open, want 0", v)
	}
	if _, err := ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: "こんにちは"}); err != nil {
		t.Errorf("Classify with %d idle streams open: %v", 5*limit, err)
	}
	if _, err := ls.c.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{Requests: []*kasuharav1.ClassifyRequest{{Text: "こんにちは"}}}); err != nil {
		t.Errorf("ClassifyBatch with %d idle streams open: %v", 5*limit, err)
	}
	// A stream with work gets a slot for its message, and gives it back.
	s := openIdleStreams(t, ctx, ls.c, 2)[0]
	if err := s.Send(&kasuharav1.ClassifyRequest{Id: "again", Text: "殺すぞ"}); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.Recv(); err != nil || resp.GetId() != "again" {
		t.Errorf("a stream's second message: %v, %v", resp, err)
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_calls_in_flight", nil); v != 0 {
		t.Errorf("calls in flight = %v after the stream's answer, want 0", v)
	}
}

// TestIdleStreamIsEnded: a stream that sends nothing for
// --stream-idle-timeout is ended DeadlineExceeded naming the limit; one
// that keeps sending is not, however long it lasts. (The server used to
// keep an idle stream open for ever.)
func TestIdleStreamIsEnded(t *testing.T) {
	const idle = 2 * time.Second
	ls := startLimited(t, limitedOptions{maxText: 1024, maxBatch: 4, limits: Limits{MaxInFlight: 4, StreamIdleTimeout: idle}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	quiet := openIdleStreams(t, ctx, ls.c, 2)
	ended := make(chan error, len(quiet))
	for _, s := range quiet {
		go func() {
			_, err := s.Recv()
			ended <- err
		}()
	}
	busy, err := ls.c.ClassifyStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The busy stream keeps sending until both quiet ones have been ended,
	// so it lasts longer than the idle timeout, however slow the machine.
	for i, n := 0, 0; n < len(quiet); i++ {
		if err := busy.Send(&kasuharav1.ClassifyRequest{Id: "b", Text: "こんにちは"}); err != nil {
			t.Fatalf("busy stream, message %d: %v", i, err)
		}
		if _, err := busy.Recv(); err != nil {
			t.Fatalf("busy stream, message %d: %v", i, err)
		}
		for drained := false; !drained; {
			select {
			case err := <-ended:
				n++
				if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "--stream-idle-timeout") {
					t.Errorf("idle stream: %v, want DeadlineExceeded naming --stream-idle-timeout", err)
				}
			default:
				drained = true
			}
		}
	}
	if err := busy.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := busy.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("busy stream's end: %v, want EOF", err)
	}
}

// TestClassifyingIsBoundedToTheWorkers: however many calls are admitted,
// only classifyWorkers messages are classified at once; the others wait,
// blocked, so that the CPUs are shared among a few goroutines and health
// checks get one at once. (Every admitted call used to classify at once:
// with 128 CPU-bound goroutines on 2 cores a health Check waited 0.79 s at
// p99.) Messages are a stand-in that classifies only once released, so
// the test sees every call admitted and waiting before any finishes.
func TestClassifyingIsBoundedToTheWorkers(t *testing.T) {
	const calls, workers = 6, 2
	release := make(chan struct{})
	var inside, peak atomic.Int64
	held := func(c *classifier.Classifier, ctx context.Context, text string) (classifier.Result, error) {
		n := inside.Add(1)
		defer inside.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-release:
		case <-ctx.Done():
			return classifier.Result{}, ctx.Err()
		}
		return c.ClassifyContext(ctx, text)
	}
	lex, err := lexicon.LoadDir("testdata/lexicon")
	cur := serving(t, lex, err)
	reg := prometheus.NewRegistry()
	srv := newServer(reg, serverDeps{current: cur, maxBatch: 8, limits: Limits{MaxInFlight: 64}, classifyWorkers: workers,
		classifyTimeout: time.Hour, classifyText: held, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	conn := serveBufconn(t, srv)
	c := kasuharav1.NewClassifierClient(conn)
	batch := &kasuharav1.ClassifyBatchRequest{}
	for range 4 {
		batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Text: "責任者を出してください"})
	}
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := c.ClassifyBatch(context.Background(), batch); err != nil {
				t.Error(err)
			}
		})
	}
	// Every call is admitted, and the workers are all taken.
	if !waitFor(30*time.Second, func() bool {
		inFlight, _ := metricValue(t, reg, "kasuhara_grpc_calls_in_flight", nil)
		busy, _ := metricValue(t, reg, "kasuhara_classify_workers_busy", nil)
		return inFlight == calls && busy == workers
	}) {
		t.Fatal("the calls were not all admitted with the workers busy within 30s")
	}
	// Health answers while they wait.
	if h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health: %v, %v", h, err)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p != workers {
		t.Errorf("up to %d messages classified at once, want %d", p, workers)
	}
}

// TestNormalisedTextIsBounded: ㌗ is 3 bytes that NFKC makes 15
// (ヘクタール), so the size limit counts text as it will be classified,
// and a batch's texts together are bounded too, each refusal naming its
// limit. (The limit used to count raw bytes only: 64 KiB of ㌗ took 304 ms
// against 25 ms for ordinary text, and a batch of 256 of them minutes.)
func TestNormalisedTextIsBounded(t *testing.T) {
	const maxText, maxBatchText = 4096, 6000
	ls := startLimited(t, limitedOptions{maxText: maxText, maxBatch: 8, maxBatchText: maxBatchText})
	ctx := context.Background()
	expanding := strings.Repeat("㌗", 1000) // 3000 bytes, 15000 once normalised

	_, err := ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: expanding})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "text: over 4096 bytes once normalised (NFKC), want <= 4096 (--max-text-bytes)") {
		t.Errorf("expanding text: %v, want InvalidArgument naming the normalised limit", err)
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_classify_rejected_total", map[string]string{"reason": "too_long"}); v != 1 {
		t.Errorf("rejected{too_long} = %v, want 1", v)
	}
	// Within the limit once normalised, it is classified.
	resp, err := ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: strings.Repeat("㌗", 200) + "殺すぞ"})
	if err != nil || resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT {
		t.Errorf("200 ㌗ and a threat: %v, %v", resp, err)
	}
	// Texts that shrink when normalised (half-width kana with voicing marks) are not refused for their raw size alone.
	if _, err := ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: strings.Repeat("ｶﾞ", maxText/6)}); err != nil {
		t.Errorf("half-width text at the raw limit: %v", err)
	}

	t.Run("a batch's texts together", func(t *testing.T) {
		batch := &kasuharav1.ClassifyBatchRequest{}
		for range 3 {
			batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Text: strings.Repeat("㌗", 150)}) // 2250 bytes normalised
		}
		_, err := ls.c.ClassifyBatch(ctx, batch)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "requests: over 6000 text bytes once normalised by item 2, want <= 6000 (--max-batch-text-bytes)") {
			t.Errorf("batch over the total: %v, want InvalidArgument naming --max-batch-text-bytes", err)
		}
		batch.Requests = batch.Requests[:2]
		if _, err := ls.c.ClassifyBatch(ctx, batch); err != nil {
			t.Errorf("batch within the total: %v", err)
		}
	})
	t.Run("a stream's message", func(t *testing.T) {
		s, err := ls.c.ClassifyStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Send(&kasuharav1.ClassifyRequest{Id: "m9", Text: expanding})
		if _, err := s.Recv(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `request id "m9": text: over 4096 bytes once normalised`) {
			t.Errorf("stream: %v, want InvalidArgument naming the message and the limit", err)
		}
	})
}

// TestStreamThatIsNotReadIsEnded: a client that keeps sending on a
// ClassifyStream but never reads its answers fills its flow control window,
// and the server's Send blocks; past the send timeout the server ends the
// stream DeadlineExceeded and every goroutine serving it returns. (Send
// used to block for as long as the client kept the connection: the
// handler's goroutines held for ever.)
func TestStreamThatIsNotReadIsEnded(t *testing.T) {
	streamHandler := []string{"(*classifierServer).ClassifyStream", "(*classifierServer).newStreamSender"}
	ls := startLimited(t, limitedOptions{maxText: 65536, maxBatch: 4, limits: Limits{MaxInFlight: 4}, sendTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the client's Send, which the full window blocks
	stream, err := ls.c.ClassifyStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Each answer lists many matches, so that a few fill the client's 64
	// KiB window and the stream's write quota; the client never calls Recv.
	text := strings.Repeat("殺すぞ。", 300)
	go func() {
		for stream.Send(&kasuharav1.ClassifyRequest{Id: "unread", Text: text}) == nil {
		}
	}()
	handled := func() bool {
		v, _ := metricValue(t, ls.reg, "grpc_server_handled_total", map[string]string{"grpc_method": "ClassifyStream", "grpc_code": "DeadlineExceeded"})
		return v == 1
	}
	if !waitFor(20*time.Second, handled) {
		all, _ := metricValue(t, ls.reg, "grpc_server_handled_total", map[string]string{"grpc_method": "ClassifyStream"})
		t.Fatalf("the handler of a stream whose client reads nothing had not returned DeadlineExceeded 20s on (%v returned otherwise); goroutines:\n%s",
			all, strings.Join(goroutinesIn(streamHandler...), "\n\n"))
	}
	if !waitFor(20*time.Second, func() bool { return len(goroutinesIn(streamHandler...)) == 0 }) {
		t.Errorf("goroutines still serve the ended stream:\n%s", strings.Join(goroutinesIn(streamHandler...), "\n\n"))
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_grpc_calls_in_flight", nil); v != 0 {
		t.Errorf("calls in flight = %v once the stream ended, want 0", v)
	}
	// Others are served on the same connection meanwhile.
	if _, err := ls.c.Classify(context.Background(), &kasuharav1.ClassifyRequest{Text: "こんにちは"}); err != nil {
		t.Errorf("Classify beside the ended stream: %v", err)
	}
}

// goroutinesIn lists the stacks of the goroutines that run one of fns, or
// a function literal inside one (function names as stacks print them:
// "(*classifierServer).ClassifyStream").
func goroutinesIn(fns ...string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, fn := range fns {
			if strings.Contains(g, fn+"(") || strings.Contains(g, fn+".func") {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// slowOn is a stand-in for ClassifyContext that classifies every text but
// slow as ClassifyContext does, and takes slow for ever: it returns only
// when its context ends, with the context's error, as ClassifyContext does.
func slowOn(slow string) func(*classifier.Classifier, context.Context, string) (classifier.Result, error) {
	return func(c *classifier.Classifier, ctx context.Context, text string) (classifier.Result, error) {
		if text != slow {
			return c.ClassifyContext(ctx, text)
		}
		<-ctx.Done()
		return classifier.Result{}, ctx.Err()
	}
}

// TestOneSlowMessageDoesNotHoldItsBatch: a message that takes longer than
// the per-message limit to classify is given up, and its call refused
// ResourceExhausted naming the item and the limit, in a batch over gRPC
// and over HTTP as in a single call; the others around it are served.
// (A batch used to be held for as long as its slowest message took.)
func TestOneSlowMessageDoesNotHoldItsBatch(t *testing.T) {
	const slow = "この文はいつまでも終わらない"
	ls := startLimited(t, limitedOptions{maxText: 1024, maxBatch: 4, classifyTimeout: 50 * time.Millisecond, classifyText: slowOn(slow)})
	ctx := context.Background()
	batch := &kasuharav1.ClassifyBatchRequest{Requests: []*kasuharav1.ClassifyRequest{{Text: "こんにちは"}, {Text: slow}, {Text: "殺すぞ"}}}
	_, err := ls.c.ClassifyBatch(ctx, batch)
	const want = "requests[1].text: classifying took over 50ms, want <= 50ms a message"
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), want) {
		t.Errorf("batch with a slow item: %v, want ResourceExhausted %q", err, want)
	}
	_, err = ls.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: slow})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "text: classifying took over 50ms") {
		t.Errorf("a slow message alone: %v, want ResourceExhausted naming the limit", err)
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_classify_rejected_total", map[string]string{"reason": "too_slow"}); v != 2 {
		t.Errorf("rejected{too_slow} = %v, want 2", v)
	}
	batch.Requests = append(batch.Requests[:1], batch.Requests[2:]...)
	if resp, err := ls.c.ClassifyBatch(ctx, batch); err != nil || len(resp.GetResponses()) != 2 {
		t.Errorf("the batch without its slow item: %v, %v", resp, err)
	}
	// The call's own deadline is the call's: DeadlineExceeded, not the limit.
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := ls.c.Classify(dctx, &kasuharav1.ClassifyRequest{Text: slow}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("a slow message under a shorter call deadline: %v, want DeadlineExceeded", err)
	}

	t.Run("over HTTP, a 429 naming the item", func(t *testing.T) {
		hs := httptest.NewServer(ls.srv.http.Handler)
		defer hs.Close()
		r := (&httpTest{url: hs.URL}).do(t, request{path: "/v1/classify:batch", body: `{"requests": [{"text": "こんにちは"}, {"text": "` + slow + `"}]}`})
		if r.status != http.StatusTooManyRequests || !strings.Contains(string(r.body), want) {
			t.Errorf("HTTP batch with a slow item: %d %s, want 429 naming %q", r.status, r.body, want)
		}
	})
	t.Run("with the real classifier, the limit applies as it matches", func(t *testing.T) {
		ls := startLimited(t, limitedOptions{maxText: 65536, maxBatch: 4, classifyTimeout: time.Nanosecond})
		_, err := ls.c.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{Requests: []*kasuharav1.ClassifyRequest{{Text: heavyText(16 << 10)}}})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "requests[0].text: classifying took over 1ns") {
			t.Errorf("a batch under a 1ns limit: %v, want ResourceExhausted naming the limit", err)
		}
	})
}

// TestOversizedClassifyIsNotDecoded: a Classify request larger than any
// text may be (--max-text-bytes and 1 KiB for the id), though within
// --max-recv-bytes, is refused InvalidArgument naming its size and the
// limit, without being decoded; a batch's request is not held to it.
// (Such a request used to be decoded, a second copy of it, before its
// text was found too long.)
func TestOversizedClassifyIsNotDecoded(t *testing.T) {
	const maxText = 1024
	l := Limits{KeepaliveMinTime: DefaultKeepaliveMinTime}
	if err := l.Set(DefaultMaxConcurrentStreams, 4, maxText, 0); err != nil {
		t.Fatal(err)
	}
	ls := startLimited(t, limitedOptions{maxText: maxText, maxBatch: 4, limits: l})
	ctx := context.Background()
	req := &kasuharav1.ClassifyRequest{Id: "big", Text: strings.Repeat("a", 3*maxText)}
	_, err := ls.c.Classify(ctx, req)
	want := fmt.Sprintf("request: %d bytes, want <= %d (--max-text-bytes, and 1 KiB for the id)", proto.Size(req), maxText+recvItemOverhead)
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
		t.Errorf("oversized Classify: %v, want InvalidArgument %q", err, want)
	}
	if v, _ := metricValue(t, ls.reg, "kasuhara_classify_rejected_total", map[string]string{"reason": "too_long"}); v != 1 {
		t.Errorf("rejected{too_long} = %v, want 1", v)
	}
	// At the limit it is decoded, and its text judged as ever.
	req.Text = strings.Repeat("a", maxText)
	if _, err := ls.c.Classify(ctx, req); err != nil {
		t.Errorf("Classify at the limit: %v", err)
	}
	batch := &kasuharav1.ClassifyBatchRequest{}
	for range 4 {
		batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Id: "m", Text: strings.Repeat("a", maxText)})
	}
	if _, err := ls.c.ClassifyBatch(ctx, batch); err != nil {
		t.Errorf("a batch larger than one text may be: %v", err)
	}
}
