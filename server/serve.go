package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/kasuhara/kasuhara/classifier"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// Default listen addresses: loopback, so that a server started without
// thought is not reachable from other hosts.
const (
	DefaultGRPCAddr  = "127.0.0.1:50051"
	DefaultHTTPAddr  = "127.0.0.1:9090"
	DefaultAdminAddr = "127.0.0.1:50052"
)

// Config is what Run needs: where to listen, the limits, where the lexicon
// comes from and where to log. Each field is named for the serve flag that
// sets it.
type Config struct {
	GRPCAddr  string // --grpc-addr: the Classifier API, health and reflection
	HTTPAddr  string // --http-addr: the HTTP/JSON API, /metrics and /healthz
	AdminAddr string // --admin-addr: LexiconAdmin; "" turns it off
	// MaxBatch is the most messages one ClassifyBatch call may carry.
	MaxBatch int
	// MaxBatchText bounds a batch's texts together, normalised.
	MaxBatchText int
	// Limits bound the gRPC server and the HTTP API (see Limits.Set).
	Limits          Limits
	ShutdownTimeout time.Duration // how long in-flight calls may take once ctx ends
	LexiconCheck    time.Duration // how often the lexicon directory's content is compared; 0: never
	// APIKeys are the keys the Classifier service and the HTTP API accept;
	// nil accepts any key.
	APIKeys *APIKeys
	// Lexicon is where the first classifier and every reload come from.
	Lexicon LexiconSource
	Log     *slog.Logger

	// watching, if set, is closed once the lexicon directory is watched.
	watching chan struct{}
}

// server is the running service: the gRPC server with its health service,
// and the HTTP server for metrics.
type server struct {
	grpc   *grpc.Server
	admin  *grpc.Server // LexiconAdmin on its own listener; nil when off
	health *health.Server
	// draining is closed when shutdown starts; it ends health watches.
	draining chan struct{}
	http     *http.Server
	metrics  *metrics
	adm      *admission // the in-flight limit gRPC calls and HTTP requests share
	headroom *headroom  // Ps to spare under load; nil: GOMAXPROCS as the environment set it
	log      *slog.Logger
}

// serverDeps is what the gRPC and HTTP front ends share.
type serverDeps struct {
	// current is the classifier answering now; a reload swaps it.
	current  *atomic.Pointer[classifier.Classifier]
	maxBatch int
	// maxBatchText bounds a batch's texts together, normalised; 0: none.
	maxBatchText int
	// limits bound the gRPC server; the zero value leaves grpc-go's defaults.
	limits Limits
	log    *slog.Logger
	// apiKeys are the keys the Classifier service and the HTTP API accept;
	// nil accepts any.
	apiKeys *APIKeys
	// httpWriteTimeout bounds writing one HTTP API response; 0 is
	// httpWriteTimeout.
	httpWriteTimeout time.Duration
	// streamSendTimeout bounds how long a ClassifyStream answer may wait
	// for its client to take it; 0 is streamSendTimeout.
	streamSendTimeout time.Duration
	// classifyTimeout bounds classifying one message; 0 is
	// DefaultClassifyTimeout. classifyText, when set, stands in for
	// ClassifyContext (tests).
	classifyTimeout time.Duration
	classifyText    func(*classifier.Classifier, context.Context, string) (classifier.Result, error)
	// classifyWorkers is how many messages are classified at once; 0 is
	// GOMAXPROCS.
	classifyWorkers int
}

// newServer builds the gRPC and HTTP servers around the current
// classifier, registering every metric on reg.
func newServer(reg *prometheus.Registry, d serverDeps) *server {
	current, log := d.current, d.log
	m := newMetrics(reg)
	m.setLexicon(current.Load().Lexicon())
	grpcMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5})))
	reg.MustRegister(grpcMetrics,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	panics := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "kasuhara", Subsystem: "grpc", Name: "panics_recovered_total",
		Help: "Panics in gRPC handlers, recovered and answered Internal.",
	})
	reg.MustRegister(panics)
	onPanic := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		panics.Inc()
		method, _ := grpc.Method(ctx)
		// A panic value may quote a request: log only its kind.
		log.Error("panic in gRPC handler", "method", method, "panic", panicSummary(p))
		return status.Error(codes.Internal, "internal error")
	})
	adm := newAdmission(reg, d.limits.MaxInFlight)
	reqBytes := newRequestBytes(reg, d.limits.MaxRequestBytes)
	g := &gate{adm: adm, keys: d.apiKeys}
	unary := chainUnary(grpcMetrics.UnaryServerInterceptor(), recovery.UnaryServerInterceptor(onPanic))
	// The gate refuses calls without a key and unary calls past the
	// in-flight limit before their requests are read (a stream takes a slot
	// per message). Then, outermost first: every call is counted, and
	// panics anywhere inside are recovered. Classify and ClassifyBatch are
	// served as streams (classifierServiceDesc) that run the unary
	// interceptors themselves once their request is read, so they are
	// counted as the unary calls they are.
	gs := grpc.NewServer(append(d.limits.serverOptions(),
		grpc.InTapHandle(g.tap),
		grpc.ForceServerCodecV2(requestCodec{encoding.GetCodecV2(protoenc.Name)}),
		grpc.UnaryInterceptor(unary),
		grpc.ChainStreamInterceptor(exceptLazyUnary(grpcMetrics.StreamServerInterceptor()), exceptLazyUnary(recovery.StreamServerInterceptor(onPanic))),
		// Calls run on reused goroutines whose stacks have already grown to
		// what classifying needs; a fresh goroutine per call copied its
		// stack as it grew, about 5% of the server's CPU under load. When
		// all are busy a call gets a goroutine of its own, so none waits.
		grpc.NumStreamWorkers(uint32(DefaultMaxInFlight())),
	)...)
	cs := &classifierServer{current: current, metrics: m, maxBatch: d.maxBatch, maxBatchText: d.maxBatchText, log: log, adm: adm,
		streamIdle: d.limits.StreamIdleTimeout, streamSend: cmp.Or(d.streamSendTimeout, streamSendTimeout),
		classifyTimeout: cmp.Or(d.classifyTimeout, DefaultClassifyTimeout), classifyText: d.classifyText, workers: newWorkers(reg, d.classifyWorkers),
		bytes: reqBytes, unary: unary, readBytes: readBytes{
			one:   int64(current.Load().Options().MaxTextBytes) + recvItemOverhead,
			batch: int64(cmp.Or(d.limits.MaxRecvBytes, grpcMaxRecvBytes)), // 0: grpc-go's default limit
		}}
	desc := classifierServiceDesc()
	gs.RegisterService(&desc, cs)
	hs := health.NewServer()
	draining := make(chan struct{})
	healthpb.RegisterHealthServer(gs, &drainingHealth{Server: hs, draining: draining})
	reflection.Register(gs)
	grpcMetrics.InitializeMetrics(gs)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(kasuharav1.Classifier_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		resp, err := hs.Check(r.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, "not serving", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if d.httpWriteTimeout == 0 {
		d.httpWriteTimeout = httpWriteTimeout
	}
	registerHTTPAPI(mux, httpDeps{cs: cs, keys: d.apiKeys, reg: reg, adm: adm, bytes: reqBytes, writeTimeout: d.httpWriteTimeout})
	return &server{
		grpc: gs, health: hs, draining: draining, log: log, metrics: m, adm: adm, headroom: newHeadroom(cs.workers, adm),
		// ReadTimeout ends a request whose body stalls; bodies are at most a
		// few MB, which any working client sends well within it.
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: httpReadTimeout},
	}
}

// httpReadTimeout bounds reading one HTTP request, body included;
// httpWriteTimeout writing one API response, from its first byte;
// streamSendTimeout how long a ClassifyStream answer may wait for its
// client to read it before the stream is ended.
const (
	httpReadTimeout   = 30 * time.Second
	httpWriteTimeout  = 10 * time.Second
	streamSendTimeout = 10 * time.Second
)

// DefaultClassifyTimeout is the most time one message may take to
// classify once it has a worker, in any call (a batch's items each): past
// it the message is given up and its call refused ResourceExhausted naming
// the limit. The slowest text known at the size limit takes 60 ms of one
// CPU; this leaves room for a busy machine and keeps one pathological text
// from holding a worker or a batch for longer.
const DefaultClassifyTimeout = time.Second

// LexiconSource is where the serving classifier and its reloads come from.
type LexiconSource struct {
	// Dir is the lexicon directory watched and compared for changes; "" for
	// the embedded default, which only changes with the binary.
	Dir string
	// Build loads the lexicon and compiles a classifier around it.
	Build func() (*classifier.Classifier, error)
}

// Run serves until ctx ends, then shuts down: health NOT_SERVING first, a
// graceful gRPC stop bounded by cfg.ShutdownTimeout (then a hard stop), and
// the HTTP server last so metrics stay scrapeable while calls drain.
// SIGHUP, a change in the lexicon directory and LexiconAdmin.Reload on the
// admin listener all reload the lexicon through one path.
func Run(ctx context.Context, cfg Config) error {
	src, log := cfg.Lexicon, cfg.Log
	c, err := src.Build()
	if err != nil {
		return err
	}
	var current atomic.Pointer[classifier.Classifier]
	current.Store(c)
	reg := prometheus.NewRegistry()
	srv := newServer(reg, serverDeps{current: &current, maxBatch: cfg.MaxBatch, maxBatchText: cfg.MaxBatchText, limits: cfg.Limits, log: log, apiKeys: cfg.APIKeys})
	rl := newReloader(reg, src.Dir, src.Build, &current, func(c *classifier.Classifier) { srv.metrics.setLexicon(c.Lexicon()) }, log)
	rl.checkEvery = cfg.LexiconCheck
	rl.watching = cfg.watching

	var lis []net.Listener
	listen := func(flag, addr string) (net.Listener, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, o := range lis {
				o.Close()
			}
			return nil, fmt.Errorf("listen %s: %w", flag, err)
		}
		lis = append(lis, l)
		return l, nil
	}
	grpcLis, err := listen("--grpc-addr", cfg.GRPCAddr)
	if err != nil {
		return err
	}
	httpLis, err := listen("--http-addr", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	var adminLis net.Listener
	adminAddr := "off"
	if cfg.AdminAddr != "" {
		if adminLis, err = listen("--admin-addr", cfg.AdminAddr); err != nil {
			return err
		}
		adminAddr = adminLis.Addr().String()
		srv.admin = grpc.NewServer()
		kasuharav1.RegisterLexiconAdminServer(srv.admin, &adminServer{r: rl})
		reflection.Register(srv.admin)
	}
	// SIGHUP is taken before the first log line says the server is up, so
	// that a reload sent once it is read never kills the process.
	hup, stopHUP := notifySIGHUP()
	defer stopHUP()
	log.Info("serving", "grpc_addr", grpcLis.Addr().String(), "http_addr", httpLis.Addr().String(), "admin_addr", adminAddr,
		"lexicon_version", c.Lexicon().Version, "entries", len(c.Lexicon().Entries))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// ErrServerStopped: shutdown came before Serve began.
		if err := srv.grpc.Serve(grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve grpc: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := srv.http.Serve(httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	if srv.admin != nil {
		g.Go(func() error {
			if err := srv.admin.Serve(adminLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				return fmt.Errorf("serve admin: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error { srv.headroom.run(gctx); return nil })
	g.Go(func() error { rl.reloadOnSIGHUP(gctx, hup); return nil })
	if src.Dir != "" {
		g.Go(func() error { return rl.watchDir(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		srv.shutdown(cfg.ShutdownTimeout)
		return nil
	})
	err = g.Wait()
	if err == nil {
		log.Info("stopped")
	}
	return err
}

func (s *server) shutdown(timeout time.Duration) {
	s.log.Info("shutting down", "timeout", timeout)
	s.health.Shutdown() // every service NOT_SERVING: balancers stop sending
	close(s.draining)   // health watches say so and end, or GracefulStop would wait on them
	if s.admin != nil {
		s.admin.Stop() // reloads during shutdown serve no one
	}
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.log.Warn("graceful stop timed out; cutting off remaining calls")
		s.grpc.Stop()
		<-stopped
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
		s.http.Close()
	}
}

// drainingHealth is the health service, except that when shutdown starts
// each Watch tells its watcher NOT_SERVING and ends with Unavailable. A load
// balancer keeps a Watch open for as long as its connection lasts, and
// GracefulStop waits for every open call: without this, one watcher would
// hold the drain until --shutdown-timeout and every call still running
// would then be cut off.
type drainingHealth struct {
	*health.Server
	draining <-chan struct{}
}

func (h *drainingHealth) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	ws := &watchStream{Health_WatchServer: stream, ctx: ctx, last: -1}
	go func() {
		select {
		case <-h.draining:
			ws.finish()
			cancel()
		case <-ctx.Done():
		}
	}()
	err := h.Server.Watch(req, ws)
	select {
	case <-h.draining:
		return status.Error(codes.Unavailable, "server shutting down")
	default:
		return err
	}
}

// watchStream is a Watch stream that shutdown can finish: it serialises
// sends, so that finish's NOT_SERVING is the last thing the watcher hears.
type watchStream struct {
	healthpb.Health_WatchServer
	ctx  context.Context
	mu   sync.Mutex
	last healthpb.HealthCheckResponse_ServingStatus
	done bool
}

func (w *watchStream) Context() context.Context { return w.ctx }

func (w *watchStream) Send(r *healthpb.HealthCheckResponse) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return errShuttingDown
	}
	w.last = r.GetStatus()
	return w.Health_WatchServer.Send(r)
}

// finish sends NOT_SERVING unless the watcher was just told so, and lets
// nothing through after it.
func (w *watchStream) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.done = true
	if w.last != healthpb.HealthCheckResponse_NOT_SERVING {
		w.Health_WatchServer.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}) // the stream ends next either way
	}
}

var errShuttingDown = errors.New("server shutting down")
