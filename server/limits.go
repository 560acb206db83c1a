package server

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// Defaults for the gRPC limits serve sets as flags.
const (
	// DefaultMaxConcurrentStreams is the most calls one connection may have
	// open at once: HTTP/2's recommended floor, twice ghz's default
	// concurrency. Past it a client's further calls wait on its side.
	DefaultMaxConcurrentStreams = 100
	// DefaultKeepaliveMinTime is how often a client may ping: gateways that
	// ping every 10s or slower keep their connection; faster is abuse and
	// gets a GOAWAY (too_many_pings).
	DefaultKeepaliveMinTime = 10 * time.Second
	// DefaultMaxConnectionIdle closes connections with no call for this long.
	DefaultMaxConnectionIdle = 5 * time.Minute
	// DefaultStreamIdleTimeout ends a ClassifyStream that sends nothing for
	// this long: an idle stream holds no slot, but it holds a goroutine and
	// one of its connection's --max-concurrent-streams.
	DefaultStreamIdleTimeout = time.Minute

	// keepaliveTime and keepaliveTimeout find dead peers: a connection
	// quiet for keepaliveTime is pinged and closed if no answer comes within
	// keepaliveTimeout, releasing any call slots its streams held.
	keepaliveTime    = time.Minute
	keepaliveTimeout = 20 * time.Second

	// recvItemOverhead allows, per batch item, for its id and the protobuf
	// framing around it; recvSlack for the batch message itself.
	recvItemOverhead = 1 << 10
	recvSlack        = 64 << 10

	// streamWindow is each stream's HTTP/2 flow control window: grpc-go's
	// initial one, kept fixed.
	streamWindow = 64 << 10

	// requestBytesPerRecv is the default --max-request-bytes, in largest
	// requests: room for sixteen read at once.
	requestBytesPerRecv = 16
)

// DefaultMaxInFlight is the default number of Classifier calls served at
// once: 64 per CPU. Classification is CPU-bound, so calls beyond GOMAXPROCS
// only queue for a CPU; with 64 single-message calls per CPU ahead of it an
// admitted call waits about 64 classify times (~5 ms at the 0.075 ms a dev
// corpus message takes), whatever the core count, while a client running 50
// concurrent calls is never refused even on one core.
func DefaultMaxInFlight() int { return 64 * ClassifyCPUs() }

// ClassifyCPUs is how many messages are classified at once: one per CPU
// the process may run on, and never more than GOMAXPROCS. Under load Run
// gives the Go scheduler more Ps than that (see headroom), so that a P is
// free for the network, health and /metrics however busy the workers are.
func ClassifyCPUs() int { return max(1, min(runtime.NumCPU(), runtime.GOMAXPROCS(0))) }

// maxRecvBytesFor is the smallest receive limit that admits every batch
// the server would answer: maxBatch texts of maxTextBytes each, but no
// more text together than maxBatchText (0: no bound), with room for ids
// and framing. Bounding it by the batch's text keeps what one unary call
// can make the server read, which grpc-go bounds only by this one limit
// per server, to a few MiB rather than maxBatch full texts.
func maxRecvBytesFor(maxBatch, maxTextBytes, maxBatchText int) int {
	text := int64(maxBatch) * int64(maxTextBytes)
	if maxBatchText > 0 {
		text = min(text, int64(maxBatchText))
	}
	n := text + int64(maxBatch)*recvItemOverhead + recvSlack
	return int(min(n, math.MaxInt32)) // gRPC frames a message with a 32-bit length
}

// Limits bound what clients, alone or together, can ask of the gRPC
// server. A zero field leaves grpc-go's default (no in-flight limit).
type Limits struct {
	MaxConcurrentStreams uint32        // open calls per connection
	MaxRecvBytes         int           // largest request message
	MaxInFlight          int           // Classifier calls served at once, all connections together
	KeepaliveMinTime     time.Duration // shortest interval at which a client may ping
	MaxConnectionIdle    time.Duration // a connection with no call this long is closed (0: never)
	StreamIdleTimeout    time.Duration // a ClassifyStream with no message this long is ended (0: never)
	MaxRequestBytes      int64         // request bytes held at once, all calls together (0: no limit)
}

// serverOptions are the grpc.ServerOptions that enforce l; the in-flight
// limit is the gate instead.
func (l Limits) serverOptions() []grpc.ServerOption {
	var opts []grpc.ServerOption
	if l.MaxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(l.MaxConcurrentStreams))
	}
	// A fixed window (which turns off grpc-go's BDP growth) bounds what a
	// call's client can send before its handler reads: see requestBytes.
	opts = append(opts, grpc.InitialWindowSize(streamWindow))
	if l.MaxRecvBytes > 0 {
		opts = append(opts, grpc.MaxRecvMsgSize(l.MaxRecvBytes))
	}
	if l.KeepaliveMinTime > 0 {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             l.KeepaliveMinTime,
			PermitWithoutStream: true, // idle gateways may keep their connection warm
		}))
	}
	if l.KeepaliveMinTime > 0 || l.MaxConnectionIdle > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: l.MaxConnectionIdle,
			Time:              keepaliveTime,
			Timeout:           keepaliveTimeout,
		}))
	}
	return opts
}

// admission refuses Classifier calls past a limit at once with
// ResourceExhausted instead of letting them queue: a non-blocking
// semaphore. A stream takes a slot for each message while it is classified;
// an HTTP API request holds one while it is classified (429 when refused). Health, reflection, metrics and
// /healthz are never limited, so probes still answer under overload.
type admission struct {
	limit    int64 // 0: no limit
	inFlight atomic.Int64
	rejected prometheus.Counter
	refusals atomic.Int64 // calls and requests refused, gRPC and HTTP
}

// classifierMethodPrefix starts every Classifier method's full name.
var classifierMethodPrefix = "/" + kasuharav1.Classifier_ServiceDesc.ServiceName + "/"

// newAdmission returns an admission allowing limit calls at once (0: any
// number), with its metrics registered on reg.
func newAdmission(reg prometheus.Registerer, limit int) *admission {
	a := &admission{
		limit: int64(limit),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kasuhara", Subsystem: "grpc", Name: "overload_rejected_total",
			Help: "Classifier calls refused with ResourceExhausted because --max-in-flight calls were being served.",
		}),
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "kasuhara", Subsystem: "grpc", Name: "calls_in_flight",
		Help: "Classifier calls and HTTP API requests being served now (a stream counts while one of its messages is classified).",
	}, func() float64 { return float64(a.inFlight.Load()) })
	reg.MustRegister(a.rejected, inFlight)
	return a
}

// acquire takes a slot if one is free, without waiting.
func (a *admission) acquire() bool {
	if tryAdd(&a.inFlight, 1, a.limit) {
		return true
	}
	a.refusals.Add(1)
	return false
}

// tryAdd adds n to v unless that would take v past limit (0: no limit).
func tryAdd(v *atomic.Int64, n, limit int64) bool {
	for {
		old := v.Load()
		if limit > 0 && old+n > limit {
			return false
		}
		if v.CompareAndSwap(old, old+n) {
			return true
		}
	}
}

// requestBytes bounds the request bytes the server holds at once, all
// connections and both APIs together, so that memory stays bounded however
// many clients send large requests. Room is taken just before a request is
// read: a gRPC ClassifyBatch takes --max-recv-bytes, the most its request
// may be, a Classify --max-text-bytes + 1 KiB, the most it may usefully be,
// and either shrinks to the request's size once it is decoded; an HTTP request takes its Content-Length (the body limit when it
// has none). A call past the budget is refused ResourceExhausted (429 over
// HTTP) without being read. Until then grpc-go buffers at most one flow
// control window (64 KiB) of the request.
type requestBytes struct {
	limit    int64
	held     atomic.Int64
	rejected prometheus.Counter

	mu    sync.Mutex
	freed chan struct{} // closed, and replaced, whenever room is given back
}

// requestBytesWait is how long a gRPC call may wait for room in the byte
// budget before it is refused: long enough for the requests ahead of it to
// be decoded (when their holds shrink to their size), which a burst of
// batches needs; short enough that it is still refused, not queued.
const requestBytesWait = time.Second

func newRequestBytes(reg prometheus.Registerer, limit int64) *requestBytes {
	b := &requestBytes{limit: limit, freed: make(chan struct{}), rejected: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "kasuhara", Name: "request_bytes_rejected_total",
		Help: "Classifier calls and HTTP API requests refused because their request would take the bytes held past --max-request-bytes.",
	})}
	held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "kasuhara", Name: "request_held_bytes",
		Help: "Request bytes held by calls being read or served now, as counted against --max-request-bytes.",
	}, func() float64 { return float64(b.held.Load()) })
	reg.MustRegister(b.rejected, held)
	return b
}

// hold takes n bytes of the budget, or refuses ResourceExhausted.
func (b *requestBytes) hold(n int64) (*byteHold, error) {
	return b.holdWithin(context.Background(), n, 0)
}

// holdWithin takes n bytes of the budget, waiting up to wait (and until ctx
// ends) for room, or refuses ResourceExhausted. A call waiting has read
// nothing but what one flow control window let its client send.
func (b *requestBytes) holdWithin(ctx context.Context, n int64, wait time.Duration) (*byteHold, error) {
	var timeout <-chan time.Time
	for {
		b.mu.Lock()
		freed := b.freed // taken before trying, so no giveBack in between is missed
		b.mu.Unlock()
		if tryAdd(&b.held, n, b.limit) {
			return &byteHold{b: b, n: n}, nil
		}
		if wait <= 0 {
			return nil, b.refuse(n)
		}
		if timeout == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-timeout:
			return nil, b.refuse(n)
		}
	}
}

// refuse counts a refusal for want of n bytes and returns its status.
func (b *requestBytes) refuse(n int64) error {
	b.rejected.Inc()
	return status.Errorf(codes.ResourceExhausted,
		"server overloaded: requests in flight hold %d bytes, a new one may take %d more, want <= %d (--max-request-bytes), retry with backoff",
		b.held.Load(), n, b.limit)
}

// giveBack returns n bytes to the budget and wakes calls waiting for room.
func (b *requestBytes) giveBack(n int64) {
	b.held.Add(-n)
	b.mu.Lock()
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// byteHold is what one call holds of the budget. A client's cancellation
// can end the call's stream, dropping the hold, while its handler still
// shrinks it: the mutex orders the two.
type byteHold struct {
	mu sync.Mutex
	b  *requestBytes // nil once dropped
	n  int64
}

// shrink lowers the hold to n bytes; it never grows it. On nil it does
// nothing.
func (h *byteHold) shrink(n int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.b != nil && n < h.n {
		h.b.giveBack(h.n - n)
		h.n = n
	}
}

// drop gives the hold back; later calls, and calls on nil, do nothing.
func (h *byteHold) drop() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.b != nil {
		h.b.giveBack(h.n)
		h.b = nil
	}
}

func (a *admission) release() { a.inFlight.Add(-1) }

// refuse counts a refusal and returns the status the caller gets.
func (a *admission) refuse() error {
	a.rejected.Inc()
	return a.overloaded()
}

// overloaded is the status a refused call or HTTP API request gets.
func (a *admission) overloaded() error {
	return status.Errorf(codes.ResourceExhausted, "server overloaded: %d calls in flight, retry with backoff", a.limit)
}

// gate is the Classifier service's front door. grpc-go runs it (InTapHandle)
// when a call's headers arrive, before its request message is read and
// before a goroutine is given to it: a call without an accepted API key is
// refused Unauthenticated, and a unary call past the in-flight limit
// ResourceExhausted, so a refused call costs the server neither the read
// nor a wait for a worker. A unary call admitted here holds its slot until
// its stream ends; ClassifyStream takes slots per message in its handler.
// Health and reflection pass untouched.
type gate struct {
	adm  *admission
	keys *APIKeys // nil: any key, or none
}

// tap is the grpc.InTapHandle. It runs on the connection's reader
// goroutine, so it does only map lookups and atomics.
func (g *gate) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	method, ok := strings.CutPrefix(info.FullMethodName, classifierMethodPrefix)
	if !ok {
		return ctx, nil
	}
	if !g.keys.accepts(grpcKey(info.Header)) {
		return nil, status.Error(codes.Unauthenticated, "missing or unknown API key; send metadata authorization: Bearer KEY, or x-api-key: KEY")
	}
	if method == "ClassifyStream" {
		return ctx, nil
	}
	if !g.adm.acquire() {
		return nil, g.adm.refuse()
	}
	// The stream's context ends however the call does: answered, failed
	// while its request was read, cut off, or its connection lost.
	context.AfterFunc(ctx, g.adm.release)
	return ctx, nil
}

// grpcKey is the API key a call's metadata carries: authorization: Bearer
// KEY (the scheme in any case), else x-api-key: KEY; "" when neither.
func grpcKey(md metadata.MD) string {
	for _, v := range md.Get("authorization") {
		if key, ok := bearerToken(v); ok {
			return key
		}
	}
	if v := md.Get("x-api-key"); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// bearerToken is KEY in an Authorization value "Bearer KEY"; the scheme is
// case-insensitive (RFC 9110, section 11.1).
func bearerToken(v string) (string, bool) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	return strings.TrimSpace(key), true
}

// workers bounds how many messages are classified at once, all calls
// together, to about the number of CPUs. Admitted calls past it wait,
// blocked rather than runnable, so the Go scheduler never has more than a
// few CPU-bound goroutines to share out and health checks, /metrics and
// refusals get a CPU within a time slice under any load. A wait ends with
// the call's deadline.
type workers struct {
	sem  chan struct{}
	busy prometheus.Gauge
	// waiting counts the messages waiting for a worker; meanNanos is the
	// recent mean time one takes to classify (see observe).
	waiting, meanNanos atomic.Int64
}

// newWorkers returns n workers (0: ClassifyCPUs), with their gauge on reg.
func newWorkers(reg prometheus.Registerer, n int) *workers {
	if n <= 0 {
		n = ClassifyCPUs()
	}
	w := &workers{sem: make(chan struct{}, n), busy: prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "kasuhara", Subsystem: "classify", Name: "workers_busy",
		Help: "Messages being classified now; at most GOMAXPROCS, the rest of the admitted calls wait for one.",
	})}
	reg.MustRegister(w.busy)
	return w
}

// acquire waits for a worker, or for ctx to end.
func (w *workers) acquire(ctx context.Context) error {
	select {
	case w.sem <- struct{}{}: // a worker free: no wait
		w.busy.Inc()
		return nil
	default:
	}
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	select {
	case w.sem <- struct{}{}:
		w.busy.Inc()
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

func (w *workers) release() {
	w.busy.Dec()
	<-w.sem
}

// Set checks the limits from serve's flags and derives --max-recv-bytes
// when it is 0 from --max-batch, --max-text-bytes and
// --max-batch-text-bytes (maxBatchText).
func (l *Limits) Set(maxStreams uint, maxBatch, maxTextBytes, maxBatchText int) error {
	switch {
	case maxStreams == 0 || maxStreams > math.MaxUint32:
		return fmt.Errorf("--max-concurrent-streams %d, want 1 to %d", maxStreams, uint32(math.MaxUint32))
	case l.MaxRecvBytes < 0:
		return fmt.Errorf("--max-recv-bytes %d, want >= 0", l.MaxRecvBytes)
	case l.MaxInFlight < 0:
		return fmt.Errorf("--max-in-flight %d, want >= 0", l.MaxInFlight)
	case l.KeepaliveMinTime <= 0:
		return fmt.Errorf("--keepalive-min-time %v, want > 0", l.KeepaliveMinTime)
	case l.MaxConnectionIdle < 0:
		return fmt.Errorf("--max-connection-idle %v, want >= 0", l.MaxConnectionIdle)
	case l.MaxRequestBytes < 0:
		return fmt.Errorf("--max-request-bytes %d, want >= 0", l.MaxRequestBytes)
	case l.StreamIdleTimeout < 0:
		return fmt.Errorf("--stream-idle-timeout %v, want >= 0", l.StreamIdleTimeout)
	}
	l.MaxConcurrentStreams = uint32(maxStreams)
	if l.MaxRecvBytes == 0 {
		l.MaxRecvBytes = maxRecvBytesFor(maxBatch, maxTextBytes, maxBatchText)
	}
	largest := max(int64(l.MaxRecvBytes), bodyLimitFor(maxTextBytes))
	switch {
	case l.MaxRequestBytes == 0:
		l.MaxRequestBytes = requestBytesPerRecv * largest
	case l.MaxRequestBytes < largest:
		return fmt.Errorf("--max-request-bytes %d, want >= %d, the largest request (--max-recv-bytes, or the HTTP body limit)", l.MaxRequestBytes, largest)
	}
	return nil
}
