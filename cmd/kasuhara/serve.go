package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
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
	DefaultGRPCAddr = "127.0.0.1:50051"
	DefaultHTTPAddr = "127.0.0.1:9090"
)

// serveConfig is what serve needs beyond the classifier.
type serveConfig struct {
	grpcAddr        string
	httpAddr        string
	adminAddr       string
	maxBatch        int
	maxBatchText    int
	limits          grpcLimits
	shutdownTimeout time.Duration
	lexiconCheck    time.Duration // how often the lexicon directory's content is compared; 0: never
	logFormat       string
	logLevel        slog.Level
	apiKeys         *apiKeys // from --api-key-file, for gRPC and HTTP; nil accepts any key
}

func runServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("serve", "[flags]", stderr)
	var cf classifierFlags
	cf.register(fs)
	cfg := serveConfig{}
	fs.StringVar(&cfg.grpcAddr, "grpc-addr", DefaultGRPCAddr, "`HOST:PORT` to serve the gRPC API, health and reflection on (port 0 picks one); loopback only unless widened, e.g. :50051 for every interface")
	fs.StringVar(&cfg.httpAddr, "http-addr", DefaultHTTPAddr, "`HOST:PORT` to serve the HTTP/JSON API, Prometheus /metrics and /healthz on (port 0 picks one); loopback only unless widened, e.g. :9090 for every interface")
	fs.StringVar(&cfg.adminAddr, "admin-addr", "127.0.0.1:50052", "`HOST:PORT` to serve the LexiconAdmin gRPC service (Reload, Get) on; keep it private; empty turns it off")
	fs.IntVar(&cfg.maxBatch, "max-batch", DefaultMaxBatch, "most messages one ClassifyBatch call may carry")
	fs.IntVar(&cfg.maxBatchText, "max-batch-text-bytes", DefaultMaxBatchTextBytes, "most text bytes, once normalised (NFKC), the messages of one ClassifyBatch or /v1/moderations call may carry together")
	maxStreams := fs.Uint("max-concurrent-streams", DefaultMaxConcurrentStreams, "most calls one client connection may have open at once")
	fs.IntVar(&cfg.limits.maxRecvBytes, "max-recv-bytes", 0, "largest gRPC request message in bytes (0: enough for a full --max-batch of --max-text-bytes texts)")
	fs.Int64Var(&cfg.limits.maxRequestBytes, "max-request-bytes", 0, "most request bytes held at once, gRPC and HTTP, all connections together; past it calls are refused RESOURCE_EXHAUSTED before they are read (0: 16 times the largest request)")
	fs.IntVar(&cfg.limits.maxInFlight, "max-in-flight", defaultMaxInFlight(), "most Classifier calls served at once; past it calls get RESOURCE_EXHAUSTED at once (0: no limit)")
	fs.DurationVar(&cfg.limits.keepaliveMinTime, "keepalive-min-time", DefaultKeepaliveMinTime, "shortest interval at which a client may send keepalive pings; faster clients are disconnected")
	fs.DurationVar(&cfg.limits.maxConnectionIdle, "max-connection-idle", DefaultMaxConnectionIdle, "close a client connection with no call for this long (0: never)")
	fs.DurationVar(&cfg.limits.streamIdleTimeout, "stream-idle-timeout", DefaultStreamIdleTimeout, "end a ClassifyStream that sends no message for this long with DEADLINE_EXCEEDED (0: never)")
	fs.DurationVar(&cfg.lexiconCheck, "lexicon-check-interval", DefaultLexiconCheckInterval, "how often to compare the --lexicon directory's content with what was loaded, reloading on a change no file watch saw (0: never)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long in-flight calls may take before they are cut off")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text|json (message text is never logged)")
	fs.TextVar(&cfg.logLevel, "log-level", slog.LevelInfo, "log level: debug|info|warn|error")
	apiKeyFile := fs.String("api-key-file", "", "`FILE` of API keys (one a line) the gRPC Classifier service and the HTTP API routes accept; without it any key is accepted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kasuhara serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if cfg.lexiconCheck < 0 {
		return fmt.Errorf("--lexicon-check-interval %v, want >= 0", cfg.lexiconCheck)
	}
	if cfg.maxBatch <= 0 {
		return fmt.Errorf("--max-batch %d, want > 0", cfg.maxBatch)
	}
	if cfg.maxBatchText < cf.opts.MaxTextBytes {
		return fmt.Errorf("--max-batch-text-bytes %d, want >= --max-text-bytes %d", cfg.maxBatchText, cf.opts.MaxTextBytes)
	}
	if err := cfg.limits.set(*maxStreams, cfg.maxBatch, cf.opts.MaxTextBytes); err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	if cfg.apiKeys, err = loadAPIKeys(*apiKeyFile); err != nil {
		return err
	}
	an, err := classifier.NewAnalyzer()
	if err != nil {
		return err
	}
	return serve(ctx, cfg, lexiconSource{dir: cf.lexiconDir, build: func() (*classifier.Classifier, error) { return cf.build(an) }}, log)
}

func newLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q, want text|json", format)
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
	limits grpcLimits
	log    *slog.Logger
	// apiKeys are the keys the Classifier service and the HTTP API accept;
	// nil accepts any.
	apiKeys *apiKeys
	// httpWriteTimeout bounds writing one HTTP API response; 0 is
	// httpWriteTimeout.
	httpWriteTimeout time.Duration
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
	adm := newAdmission(reg, d.limits.maxInFlight)
	reqBytes := newRequestBytes(reg, d.limits.maxRequestBytes)
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
		grpc.UnaryInterceptor(unary),
		grpc.ChainStreamInterceptor(exceptLazyUnary(grpcMetrics.StreamServerInterceptor()), exceptLazyUnary(recovery.StreamServerInterceptor(onPanic))),
		// Calls run on reused goroutines whose stacks have already grown to
		// what classifying needs; a fresh goroutine per call copied its
		// stack as it grew, about 5% of the server's CPU under load. When
		// all are busy a call gets a goroutine of its own, so none waits.
		grpc.NumStreamWorkers(uint32(defaultMaxInFlight())),
	)...)
	cs := &classifierServer{current: current, metrics: m, maxBatch: d.maxBatch, maxBatchText: d.maxBatchText, log: log, adm: adm,
		streamIdle: d.limits.streamIdleTimeout, workers: newWorkers(reg, d.classifyWorkers),
		bytes: reqBytes, unary: unary, readBytes: readBytes{
			one:   int64(current.Load().Options().MaxTextBytes) + recvItemOverhead,
			batch: int64(cmp.Or(d.limits.maxRecvBytes, grpcMaxRecvBytes)), // 0: grpc-go's default limit
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
		grpc: gs, health: hs, draining: draining, log: log, metrics: m, adm: adm,
		// ReadTimeout ends a request whose body stalls; bodies are at most a
		// few MB, which any working client sends well within it.
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: httpReadTimeout},
	}
}

// httpReadTimeout bounds reading one HTTP request, body included;
// httpWriteTimeout writing one API response, from its first byte.
const (
	httpReadTimeout  = 30 * time.Second
	httpWriteTimeout = 10 * time.Second
)

// lexiconSource is where reloads come from.
type lexiconSource struct {
	dir   string // "" for the embedded default, which only changes with the binary
	build func() (*classifier.Classifier, error)
}

// serve runs until ctx ends, then shuts down: health NOT_SERVING first, a
// graceful gRPC stop bounded by cfg.shutdownTimeout (then a hard stop), and
// the HTTP server last so metrics stay scrapeable while calls drain.
// SIGHUP, a change in the lexicon directory and LexiconAdmin.Reload on the
// admin listener all reload the lexicon through one path.
func serve(ctx context.Context, cfg serveConfig, src lexiconSource, log *slog.Logger) error {
	c, err := src.build()
	if err != nil {
		return err
	}
	var current atomic.Pointer[classifier.Classifier]
	current.Store(c)
	reg := prometheus.NewRegistry()
	srv := newServer(reg, serverDeps{current: &current, maxBatch: cfg.maxBatch, maxBatchText: cfg.maxBatchText, limits: cfg.limits, log: log, apiKeys: cfg.apiKeys})
	rl := newReloader(reg, src.dir, src.build, &current, func(c *classifier.Classifier) { srv.metrics.setLexicon(c.Lexicon()) }, log)
	rl.checkEvery = cfg.lexiconCheck

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
	grpcLis, err := listen("--grpc-addr", cfg.grpcAddr)
	if err != nil {
		return err
	}
	httpLis, err := listen("--http-addr", cfg.httpAddr)
	if err != nil {
		return err
	}
	var adminLis net.Listener
	adminAddr := "off"
	if cfg.adminAddr != "" {
		if adminLis, err = listen("--admin-addr", cfg.adminAddr); err != nil {
			return err
		}
		adminAddr = adminLis.Addr().String()
		srv.admin = grpc.NewServer()
		kasuharav1.RegisterLexiconAdminServer(srv.admin, &adminServer{r: rl})
		reflection.Register(srv.admin)
	}
	log.Info("serving", "grpc_addr", grpcLis.Addr().String(), "http_addr", httpLis.Addr().String(), "admin_addr", adminAddr,
		"lexicon_version", c.Lexicon().Version, "entries", len(c.Lexicon().Entries))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.grpc.Serve(grpcLis); err != nil {
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
			if err := srv.admin.Serve(adminLis); err != nil {
				return fmt.Errorf("serve admin: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error { rl.watchSIGHUP(gctx); return nil })
	if src.dir != "" {
		g.Go(func() error { return rl.watchDir(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		srv.shutdown(cfg.shutdownTimeout)
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
