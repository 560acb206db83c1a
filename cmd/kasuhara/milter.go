package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/emersion/go-milter"

	"github.com/kasuhara/kasuhara/mailfilter"
)

// What the milter does with a harassment verdict.
const (
	policyTag        = "tag"        // add the headers and accept
	policyQuarantine = "quarantine" // add the headers and hold the mail (Postfix's hold queue)
	policyReject     = "reject"     // refuse at end of DATA with --reject-reply
)

// DefaultRejectReply is the SMTP reply to a refused message.
const DefaultRejectReply = "550 5.7.1 Message refused: it was classified as harassment"

// rejectReply is a 5xx reply, an optional enhanced status code and text, all
// printable ASCII ('%' is doubled when sent).
var rejectReply = regexp.MustCompile(`^5[0-9][0-9]( 5\.[0-9]{1,3}\.[0-9]{1,3})? [ -~]+$`)

// milterConfig is what every milter session shares.
type milterConfig struct {
	ctx      context.Context
	filter   *mailfilter.Filter
	policy   string
	reply    string
	maxBytes int64
	log      *slog.Logger
}

func runMilter(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("milter", "--listen tcp:HOST:PORT|unix:PATH [flags]", stderr)
	var mf mailFlags
	mf.register(fs)
	listen := fs.String("listen", "", "where Postfix or Sendmail connects: `tcp:HOST:PORT` (port 0 picks one; the first log line names it) or unix:PATH")
	policy := fs.String("on-harassment", policyTag, "what to do with harassment: tag (headers only), quarantine (headers, and hold the mail) or reject (5xx at end of DATA)")
	reply := fs.String("reject-reply", DefaultRejectReply, "SMTP `REPLY` for --on-harassment=reject: 5xx, an optional 5.x.x status and ASCII text")
	logFormat := fs.String("log-format", "text", "log format: text|json (message text is never logged)")
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
	case policyTag, policyQuarantine, policyReject:
	default:
		return fmt.Errorf("--on-harassment %q, want tag|quarantine|reject", *policy)
	}
	if !rejectReply.MatchString(*reply) {
		return fmt.Errorf("--reject-reply %q, want 5xx, an optional 5.x.x status and printable ASCII text", *reply)
	}
	if err := mf.validate(); err != nil {
		return err
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
	ln, err := listenMilter(*listen)
	if err != nil {
		return err
	}
	cfg := &milterConfig{ctx: ctx, filter: filter, policy: *policy, reply: *reply, maxBytes: mf.maxMessageBytes, log: log}
	log.Info("milter listening", "addr", ln.Addr().Network()+":"+ln.Addr().String(), "on_harassment", *policy, "server", mf.server)
	err = serveMilter(ctx, ln, cfg)
	log.Info("milter stopped")
	return err
}

// listenMilter listens on tcp:HOST:PORT (inet: as Postfix spells it is
// accepted too) or unix:PATH. A socket file left at PATH by an earlier run is
// removed first.
func listenMilter(spec string) (net.Listener, error) {
	network, addr, ok := strings.Cut(spec, ":")
	if !ok || addr == "" {
		return nil, fmt.Errorf("--listen %q, want tcp:HOST:PORT or unix:PATH", spec)
	}
	switch network {
	case "tcp", "inet":
		network = "tcp"
	case "unix":
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(addr)
		}
	default:
		return nil, fmt.Errorf("--listen %q, want tcp:HOST:PORT or unix:PATH", spec)
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	return ln, nil
}

// serveMilter serves milter sessions on ln until ctx is done. Sessions in
// flight are cut off; the MTA then applies its milter_default_action.
func serveMilter(ctx context.Context, ln net.Listener, cfg *milterConfig) error {
	srv := &milter.Server{
		NewMilter: func() milter.Milter { return &milterSession{cfg: cfg} },
		Actions:   milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine,
		Protocol:  milter.OptNoConnect | milter.OptNoHelo | milter.OptNoMailFrom | milter.OptNoRcptTo,
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	err := srv.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("serve milter: %w", err)
}

// milterSession collects one message, up to the size cap, and decides at
// its end. The MTA gets a new session after each message it accepts or
// refuses; Abort resets one for the next message otherwise.
type milterSession struct {
	milter.NoOpMilter
	cfg  *milterConfig
	msg  bytes.Buffer
	size int64
	// forged counts the X-Kasuhara-* fields the message came with, by
	// lower-case name, to delete them.
	forged map[string]int
	names  map[string]string // lower-case name → the name as sent
}

var _ milter.Milter = (*milterSession)(nil)

func (s *milterSession) add(b []byte) {
	s.size += int64(len(b))
	if s.size <= s.cfg.maxBytes {
		s.msg.Write(b)
	}
}

func (s *milterSession) Header(name, value string, _ *milter.Modifier) (milter.Response, error) {
	if lower := strings.ToLower(name); strings.HasPrefix(lower, strings.ToLower(mailfilter.HeaderPrefix)) {
		if s.forged == nil {
			s.forged, s.names = map[string]int{}, map[string]string{}
		}
		s.forged[lower]++
		s.names[lower] = name
	}
	// Fields come without their line ends; folded ones with bare LF.
	value = strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\n", "\r\n")
	s.add([]byte(name + ": " + value + "\r\n"))
	return milter.RespContinue, nil
}

func (s *milterSession) Headers(_ textproto.MIMEHeader, _ *milter.Modifier) (milter.Response, error) {
	s.add([]byte("\r\n"))
	return milter.RespContinue, nil
}

func (s *milterSession) BodyChunk(chunk []byte, _ *milter.Modifier) (milter.Response, error) {
	s.add(chunk)
	return milter.RespContinue, nil
}

func (s *milterSession) Abort(_ *milter.Modifier) error {
	*s = milterSession{cfg: s.cfg}
	return nil
}

// Body decides: the verdict headers, and for harassment the policy.
func (s *milterSession) Body(m *milter.Modifier) (milter.Response, error) {
	var o mailfilter.Outcome
	if s.size > s.cfg.maxBytes {
		o = mailfilter.TooLarge(s.cfg.maxBytes)
	} else {
		o = s.cfg.filter.Check(s.cfg.ctx, s.msg.Bytes())
	}
	queueID := m.Macros["i"]
	action := policyTag
	if isHarassment(o) {
		action = s.cfg.policy
	}
	if o.Verdict != nil {
		s.cfg.log.Info("message checked", "queue_id", queueID, "label", o.Verdict.Label, "score", o.Verdict.Score,
			"categories", strings.Join(o.Verdict.Categories, ","), "action", action, "bytes", s.size)
	} else {
		// mailfilter errors name what was wrong, never message text.
		s.cfg.log.Warn("message passed unscored", "queue_id", queueID, "reason", string(o.Reason()), "err", o.Err, "bytes", s.size)
	}
	if action == policyReject {
		return milter.NewResponseStr(byte(milter.ActReplyCode), strings.ReplaceAll(s.cfg.reply, "%", "%%")), nil
	}
	if err := s.deleteForged(m); err != nil {
		return nil, err
	}
	// Index 0 is the top of the header block (Postfix keeps its own
	// Received: line above it).
	for i, f := range o.Fields() {
		if err := m.InsertHeader(i, f.Name, f.Value); err != nil {
			return nil, err
		}
	}
	if action == policyQuarantine {
		if err := m.Quarantine("kasuhara: harassment"); err != nil {
			return nil, err
		}
	}
	return milter.RespAccept, nil
}

// deleteForged deletes the X-Kasuhara-* fields the message came with, so
// that only the gateway's verdict is there to route on.
func (s *milterSession) deleteForged(m *milter.Modifier) error {
	lowers := make([]string, 0, len(s.forged))
	for l := range s.forged {
		lowers = append(lowers, l)
	}
	sort.Strings(lowers)
	for _, l := range lowers {
		for i := s.forged[l]; i >= 1; i-- { // from the last, so indexes hold
			if err := m.ChangeHeader(i, s.names[l], ""); err != nil {
				return err
			}
		}
	}
	return nil
}
