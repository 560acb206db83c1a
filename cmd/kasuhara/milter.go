package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kasuhara/kasuhara/mailfilter/milter"
)

func runMilter(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("milter", "--listen tcp:HOST:PORT|unix:PATH [flags]", stderr)
	var mf mailFlags
	mf.register(fs)
	listen := fs.String("listen", "", "where Postfix or Sendmail connects: `tcp:HOST:PORT` (port 0 picks one; the first log line names it) or unix:PATH")
	policy := fs.String("on-harassment", milter.PolicyTag, "what to do with harassment: tag (headers only), quarantine (headers, and hold the mail) or reject (5xx at end of DATA)")
	reply := fs.String("reject-reply", milter.DefaultRejectReply, "SMTP `REPLY` for --on-harassment=reject: 5xx, an optional 5.x.x status and ASCII text")
	logFormat := fs.String("log-format", "text", "log format: text|json (message text is never logged)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long messages in progress may take to get their verdict before they are cut off")
	maxHeld := fs.Int64("max-held-bytes", milter.DefaultMaxHeldBytes, "most message `BYTES` held at once across all sessions; a message that would go past it is tempfailed (451 4.3.2, the sender retries); at least --max-message-bytes")
	var logLevel slog.Level
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level: debug|info|warn|error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kasuhara milter: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if *listen == "" {
		fmt.Fprintln(stderr, "kasuhara milter: --listen is required: tcp:HOST:PORT or unix:PATH")
		return errUsage
	}
	switch *policy {
	case milter.PolicyTag, milter.PolicyQuarantine, milter.PolicyReject:
	default:
		return fmt.Errorf("--on-harassment %q, want tag|quarantine|reject", *policy)
	}
	if !milter.ValidRejectReply(*reply) {
		return fmt.Errorf("--reject-reply %q, want 5xx, an optional 5.x.x status and printable ASCII text", *reply)
	}
	if err := mf.validate(); err != nil {
		return err
	}
	if *shutdownTimeout <= 0 {
		return fmt.Errorf("--shutdown-timeout %v, want > 0", *shutdownTimeout)
	}
	if *maxHeld < mf.maxMessageBytes {
		return fmt.Errorf("--max-held-bytes %d, want >= --max-message-bytes %d", *maxHeld, mf.maxMessageBytes)
	}
	log, err := newLogger(stderr, *logFormat, logLevel)
	if err != nil {
		return err
	}
	filter, closeFilter, err := mf.filter()
	if err != nil {
		return err
	}
	defer closeFilter()
	ln, err := milter.Listen(*listen)
	if err != nil {
		return err
	}
	log.Info("milter listening", "addr", ln.Addr().Network()+":"+ln.Addr().String(), "on_harassment", *policy, "server", mf.server)
	err = milter.Serve(ctx, ln, milter.Config{Filter: filter, Policy: *policy, RejectReply: *reply,
		MaxMessageBytes: mf.maxMessageBytes, MaxHeldBytes: *maxHeld, ShutdownTimeout: *shutdownTimeout, Log: log})
	log.Info("milter stopped")
	return err
}
