package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/server"
)

func runServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("serve", "[flags]", stderr)
	var cf classifierFlags
	cf.register(fs)
	cfg := server.Config{}
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", server.DefaultGRPCAddr, "`HOST:PORT` to serve the gRPC API, health and reflection on (port 0 picks one); loopback only unless widened, e.g. :50051 for every interface")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", server.DefaultHTTPAddr, "`HOST:PORT` to serve the HTTP/JSON API, Prometheus /metrics and /healthz on (port 0 picks one); loopback only unless widened, e.g. :9090 for every interface")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", server.DefaultAdminAddr, "`HOST:PORT` to serve the LexiconAdmin gRPC service (Reload, Get) on; keep it private; empty turns it off")
	fs.IntVar(&cfg.MaxBatch, "max-batch", server.DefaultMaxBatch, "most messages one ClassifyBatch call may carry")
	fs.IntVar(&cfg.MaxBatchText, "max-batch-text-bytes", server.DefaultMaxBatchTextBytes, "most text bytes, once normalised (NFKC), the messages of one ClassifyBatch or /v1/moderations call may carry together")
	maxStreams := fs.Uint("max-concurrent-streams", server.DefaultMaxConcurrentStreams, "most calls one client connection may have open at once")
	fs.IntVar(&cfg.Limits.MaxRecvBytes, "max-recv-bytes", 0, "largest gRPC request message in bytes (0: enough for a full --max-batch of --max-text-bytes texts, but no more text than --max-batch-text-bytes)")
	fs.Int64Var(&cfg.Limits.MaxRequestBytes, "max-request-bytes", 0, "most request bytes held at once, gRPC and HTTP, all connections together; past it calls are refused RESOURCE_EXHAUSTED before they are read (0: 16 times the largest request)")
	fs.IntVar(&cfg.Limits.MaxInFlight, "max-in-flight", server.DefaultMaxInFlight(), "most Classifier calls served at once; past it calls get RESOURCE_EXHAUSTED at once (0: no limit)")
	fs.DurationVar(&cfg.Limits.KeepaliveMinTime, "keepalive-min-time", server.DefaultKeepaliveMinTime, "shortest interval at which a client may send keepalive pings; faster clients are disconnected")
	fs.DurationVar(&cfg.Limits.MaxConnectionIdle, "max-connection-idle", server.DefaultMaxConnectionIdle, "close a client connection with no call for this long (0: never)")
	fs.DurationVar(&cfg.Limits.StreamIdleTimeout, "stream-idle-timeout", server.DefaultStreamIdleTimeout, "end a ClassifyStream that sends no message for this long with DEADLINE_EXCEEDED (0: never)")
	fs.DurationVar(&cfg.LexiconCheck, "lexicon-check-interval", server.DefaultLexiconCheckInterval, "how often to compare the --lexicon directory's content with what was loaded, reloading on a change no file watch saw (0: never)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long in-flight calls may take before they are cut off")
	logFormat := fs.String("log-format", "text", "log format: text|json (message text is never logged)")
	var logLevel slog.Level
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level: debug|info|warn|error")
	apiKeyFile := fs.String("api-key-file", "", "`FILE` of API keys (one a line) the gRPC Classifier service and the HTTP API routes accept; without it any key is accepted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kasuhara serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if cfg.LexiconCheck < 0 {
		return fmt.Errorf("--lexicon-check-interval %v, want >= 0", cfg.LexiconCheck)
	}
	if cfg.MaxBatch <= 0 {
		return fmt.Errorf("--max-batch %d, want > 0", cfg.MaxBatch)
	}
	if cfg.MaxBatchText < cf.opts.MaxTextBytes {
		return fmt.Errorf("--max-batch-text-bytes %d, want >= --max-text-bytes %d", cfg.MaxBatchText, cf.opts.MaxTextBytes)
	}
	if err := cfg.Limits.Set(*maxStreams, cfg.MaxBatch, cf.opts.MaxTextBytes, cfg.MaxBatchText); err != nil {
		return err
	}
	var err error
	if cfg.Log, err = newLogger(stderr, *logFormat, logLevel); err != nil {
		return err
	}
	if cfg.APIKeys, err = server.LoadAPIKeys(*apiKeyFile); err != nil {
		return err
	}
	an, err := classifier.NewAnalyzer()
	if err != nil {
		return err
	}
	cfg.Lexicon = server.LexiconSource{Dir: cf.lexiconDir, Build: func() (*classifier.Classifier, error) { return cf.build(an) }}
	return server.Run(ctx, cfg)
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
