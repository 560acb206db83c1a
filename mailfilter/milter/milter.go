// Package milter is kasuhara's Postfix/Sendmail milter: it listens, runs a
// session per MTA connection that collects each message, has a
// mailfilter.Filter check it and answers with the verdict headers (tag),
// a quarantine or a 5xx reply, bounds the bytes held and the checks run at
// once, and drains on shutdown.
//
// It does not read MIME or write header values (package mailfilter does),
// classify (package classifier) or parse flags (cmd/kasuhara).
package milter

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomilter "github.com/emersion/go-milter"

	"github.com/kasuhara/kasuhara/mailfilter"
)

// What the milter does with a harassment verdict.
const (
	PolicyTag        = "tag"        // add the headers and accept
	PolicyQuarantine = "quarantine" // add the headers and hold the mail (Postfix's hold queue)
	PolicyReject     = "reject"     // refuse at end of DATA with --reject-reply
)

// DefaultRejectReply is the SMTP reply to a refused message.
const DefaultRejectReply = "550 5.7.1 Message refused: it was classified as harassment"

// DefaultMaxHeldBytes is how many message bytes the milter holds at once,
// across all its sessions, by default: six messages of the default
// --max-message-bytes, or hundreds of ordinary ones.
const DefaultMaxHeldBytes = 64 << 20

// heldReply is the SMTP reply to a message that would take the milter past
// --max-held-bytes: 4xx, so the sending server retries it later.
const heldReply = "451 4.3.2 kasuhara: too many large messages at once, try again later"

// rejectReply is a 5xx reply, an optional enhanced status code and text, all
// printable ASCII ('%' is doubled when sent).
var rejectReply = regexp.MustCompile(`^5[0-9][0-9]( 5\.[0-9]{1,3}\.[0-9]{1,3})? [ -~]+$`)

// milterConfig is what every milter session shares.
type milterConfig struct {
	// ctx is the work context: on shutdown it lasts while messages in
	// progress drain, and ends with the drain timeout.
	ctx      context.Context
	inFlight *messageGate
	// held bounds the message bytes all sessions hold at once; checks
	// bounds the messages being decoded and classified at once (one per
	// CPU: the work is CPU-bound, and each briefly needs a few times its
	// message's size).
	held     *byteBudget
	checks   chan struct{}
	filter   *mailfilter.Filter
	policy   string
	reply    string
	maxBytes int64
	log      *slog.Logger
}

// Config is what a milter needs beyond its listener. Each field is named for
// the kasuhara milter flag that sets it.
type Config struct {
	// Filter reads each message and has it classified.
	Filter *mailfilter.Filter
	// Policy is what to do with harassment: PolicyTag, PolicyQuarantine or
	// PolicyReject (--on-harassment).
	Policy string
	// RejectReply is the SMTP reply with PolicyReject (--reject-reply); see
	// ValidRejectReply.
	RejectReply string
	// MaxMessageBytes is the largest message read and scored; a larger one
	// passes with X-Kasuhara-Error (--max-message-bytes).
	MaxMessageBytes int64
	// MaxHeldBytes bounds the message bytes all sessions hold at once; a
	// message that would go past it is tempfailed (--max-held-bytes).
	MaxHeldBytes int64
	// ShutdownTimeout is how long messages in progress may take to get
	// their verdict once ctx ends (--shutdown-timeout).
	ShutdownTimeout time.Duration
	Log             *slog.Logger
}

// ValidRejectReply reports whether reply is a 5xx SMTP reply with an
// optional enhanced status code and printable ASCII text.
func ValidRejectReply(reply string) bool { return rejectReply.MatchString(reply) }

// Serve serves milter sessions on ln until ctx ends, then drains as
// serveMilter says, and returns.
func Serve(ctx context.Context, ln net.Listener, c Config) error {
	// Work outlives the signal by the drain: messages in progress get their
	// verdict, not an error, unless the drain times out.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	cfg := &milterConfig{ctx: work, inFlight: &messageGate{}, held: &byteBudget{max: c.MaxHeldBytes},
		checks: make(chan struct{}, runtime.GOMAXPROCS(0)), filter: c.Filter, policy: c.Policy, reply: c.RejectReply,
		maxBytes: c.MaxMessageBytes, log: c.Log}
	return serveMilter(ctx, ln, cfg, c.ShutdownTimeout, cancelWork)
}

// Listen listens on tcp:HOST:PORT (inet: as Postfix spells it is
// accepted too) or unix:PATH. A socket file left at PATH by an earlier run is
// removed first.
func Listen(spec string) (net.Listener, error) {
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

// serveMilter serves milter sessions on ln until ctx is done, then drains:
// it accepts no connection, tempfails every message that starts, waits up to
// timeout for the messages in progress to get their verdict, and ends
// every connection once its session has written its last answer. Past the timeout it calls cancelWork, so that the
// checks still running end, and the MTA applies its milter_default_action
// to those messages.
func serveMilter(ctx context.Context, ln net.Listener, cfg *milterConfig, timeout time.Duration, cancelWork func()) error {
	conns := &connSet{Listener: ln, open: map[net.Conn]struct{}{}}
	srv := &gomilter.Server{
		NewMilter: func() gomilter.Milter { return &milterSession{cfg: cfg} },
		Actions:   gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptQuarantine,
		Protocol:  gomilter.OptNoConnect | gomilter.OptNoHelo | gomilter.OptNoMailFrom | gomilter.OptNoRcptTo,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(conns) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve milter: %w", err)
	case <-ctx.Done():
	}
	ln.Close()
	idle := cfg.inFlight.drain()
	cfg.log.Info("milter draining", "timeout", timeout)
	expired := time.After(timeout)
	// A message whose connection the MTA dropped is uncounted when its
	// session is collected: collect while waiting.
	collect := time.NewTicker(500 * time.Millisecond)
	defer collect.Stop()
wait:
	for {
		select {
		case <-idle:
			break wait
		case <-collect.C:
			runtime.GC()
		case <-expired:
			cfg.log.Warn("milter drain timed out; messages in progress are cut off", "timeout", timeout)
			cancelWork()
			break wait
		}
	}
	// A session that has just decided may not have written its answer
	// yet: connections end at their next read, not at once.
	conns.release(time.Second)
	<-served
	return nil
}

// messageGate counts the messages in progress: from their first field to
// their verdict or abort. Once draining, no new message may start.
type messageGate struct {
	mu       sync.Mutex
	busy     int
	draining bool
	idle     chan struct{} // closed when draining and busy is 0
}

// start reports whether a message may start, and counts it if so.
func (g *messageGate) start() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining {
		return false
	}
	g.busy++
	return true
}

func (g *messageGate) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy--; g.draining && g.busy == 0 {
		close(g.idle)
	}
}

// drain stops new messages and returns a channel closed once none is in
// progress.
func (g *messageGate) drain() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.draining, g.idle = true, make(chan struct{})
	if g.busy == 0 {
		close(g.idle)
	}
	return g.idle
}

// byteBudget is a count of bytes held against a maximum, shared by every
// session.
type byteBudget struct {
	mu        sync.Mutex
	held, max int64
}

// take counts n more bytes held, unless that would pass the maximum.
func (b *byteBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held+n > b.max {
		return false
	}
	b.held += n
	return true
}

// current is how many bytes are held.
func (b *byteBudget) current() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

func (b *byteBudget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held -= n
}

// connSet is a listener that remembers the connections it accepted and
// has not seen closed, to close them when the drain ends.
type connSet struct {
	net.Listener
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func (l *connSet) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, set: l}
	l.mu.Lock()
	l.open[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// release makes every connection's next read fail, so that each session
// ends once it has written what it is writing, and waits until they have
// all closed; after max it closes those left.
func (l *connSet) release(max time.Duration) {
	l.mu.Lock()
	for c := range l.open {
		c.(*trackedConn).Conn.SetReadDeadline(time.Now())
	}
	l.mu.Unlock()
	for deadline := time.Now().Add(max); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		l.mu.Lock()
		n := len(l.open)
		l.mu.Unlock()
		if n == 0 {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.open {
		c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.open, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

// milterSession collects one message, up to the size cap, and decides at
// its end. The MTA gets a new session after each message it accepts or
// refuses; Abort resets one for the next message otherwise.
type milterSession struct {
	gomilter.NoOpMilter
	cfg *milterConfig
	// chunks is the message as received, counted in cfg.held; nil once it
	// is over the size cap.
	chunks [][]byte
	size   int64
	// refused is set once the message is tempfailed for cfg.held: its
	// further fields and chunks get the same answer, and nothing is kept.
	refused bool
	// forged counts the X-Kasuhara-* fields the message came with, by
	// lower-case name, to delete them.
	forged map[string]int
	names  map[string]string // lower-case name → the name as sent
	// counted is the message's place in cfg.inFlight and its bytes in
	// cfg.held, from its first field to its verdict or abort; nil between
	// messages.
	counted *counted
	// abandoned uncounts the message if the MTA drops the connection
	// mid-message: go-milter then discards the session without calling
	// Body or Abort, and the message is uncounted once the session is
	// garbage collected (within two minutes, Go's longest interval
	// between collections).
	abandoned runtime.Cleanup
}

// counted is one message counted in a messageGate with the bytes it holds
// in a byteBudget, uncounted once.
type counted struct {
	gate *messageGate
	held *byteBudget
	n    atomic.Int64 // bytes taken from held
	once sync.Once
}

// take counts n more bytes held by the message, if the budget has them.
func (c *counted) take(n int64) bool {
	if !c.held.take(n) {
		return false
	}
	c.n.Add(n)
	return true
}

// release gives back the bytes the message holds.
func (c *counted) release() { c.held.give(c.n.Swap(0)) }

func (c *counted) done() {
	c.once.Do(func() {
		c.release()
		c.gate.done()
	})
}

// begin counts the message in progress at its first field; false means
// the milter is draining and the message must be tempfailed (the sender
// retries later).
func (s *milterSession) begin() bool {
	if s.counted == nil {
		if !s.cfg.inFlight.start() {
			return false
		}
		s.counted = &counted{gate: s.cfg.inFlight, held: s.cfg.held}
		s.abandoned = runtime.AddCleanup(s, (*counted).done, s.counted)
	}
	return true
}

// end uncounts the message, once it has its verdict or is aborted.
func (s *milterSession) end() {
	if s.counted != nil {
		s.abandoned.Stop()
		s.counted.done()
		s.counted = nil
	}
}

var _ gomilter.Milter = (*milterSession)(nil)

// add keeps b, a piece of the message, and reports whether cfg.held had
// room for it. A message over the size cap is not kept at all: it will
// pass as too large.
func (s *milterSession) add(b []byte) bool {
	s.size += int64(len(b))
	if s.size > s.cfg.maxBytes {
		s.chunks = nil
		s.counted.release()
		return true
	}
	if !s.counted.take(int64(len(b))) {
		return false
	}
	// Kept as it is: go-milter reads each packet into a slice of its own,
	// and header fields come as new strings.
	s.chunks = append(s.chunks, b)
	return true
}

// receive begins the message if need be and keeps b; it returns the answer
// to the MTA if that is not "continue": a temporary failure while draining
// or once cfg.held is full.
func (s *milterSession) receive(b []byte) gomilter.Response {
	switch {
	case s.refused:
		return s.heldResponse()
	case !s.begin():
		return gomilter.RespTempFail
	case !s.add(b):
		s.cfg.log.Warn("message tempfailed: the milter holds --max-held-bytes", "max_held_bytes", s.cfg.held.max, "held_bytes", s.cfg.held.current(), "bytes", s.size)
		s.refused = true
		s.end()
		s.chunks = nil
		return s.heldResponse()
	}
	return nil
}

func (s *milterSession) heldResponse() gomilter.Response {
	return gomilter.NewResponseStr(byte(gomilter.ActReplyCode), heldReply)
}

func (s *milterSession) Header(name, value string, _ *gomilter.Modifier) (gomilter.Response, error) {
	if lower := strings.ToLower(name); strings.HasPrefix(lower, strings.ToLower(mailfilter.HeaderPrefix)) {
		if s.forged == nil {
			s.forged, s.names = map[string]int{}, map[string]string{}
		}
		s.forged[lower]++
		s.names[lower] = name
	}
	// Fields come without their line ends; folded ones with bare LF.
	value = strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\n", "\r\n")
	if resp := s.receive([]byte(name + ": " + value + "\r\n")); resp != nil {
		return resp, nil
	}
	return gomilter.RespContinue, nil
}

func (s *milterSession) Headers(_ textproto.MIMEHeader, _ *gomilter.Modifier) (gomilter.Response, error) {
	if resp := s.receive([]byte("\r\n")); resp != nil {
		return resp, nil
	}
	return gomilter.RespContinue, nil
}

func (s *milterSession) BodyChunk(chunk []byte, _ *gomilter.Modifier) (gomilter.Response, error) {
	if resp := s.receive(chunk); resp != nil {
		return resp, nil
	}
	return gomilter.RespContinue, nil
}

func (s *milterSession) Abort(_ *gomilter.Modifier) error {
	s.end()
	*s = milterSession{cfg: s.cfg}
	return nil
}

// Body decides: the verdict headers, and for harassment the policy.
func (s *milterSession) Body(m *gomilter.Modifier) (gomilter.Response, error) {
	if s.refused {
		return s.heldResponse(), nil
	}
	if !s.begin() {
		return gomilter.RespTempFail, nil
	}
	defer s.end()
	var o mailfilter.Outcome
	if s.size > s.cfg.maxBytes {
		o = mailfilter.TooLarge(s.cfg.maxBytes)
	} else {
		o = s.check()
	}
	queueID := m.Macros["i"]
	action := PolicyTag
	if o.Harassment() {
		action = s.cfg.policy
	}
	if o.Verdict != nil {
		s.cfg.log.Info("message checked", "queue_id", queueID, "label", o.Verdict.Label, "score", o.Verdict.Score,
			"categories", strings.Join(o.Verdict.Categories, ","), "action", action, "bytes", s.size, "skipped", o.SkippedValue())
	} else {
		// mailfilter errors name what was wrong, never message text.
		s.cfg.log.Warn("message passed unscored", "queue_id", queueID, "reason", string(o.Reason()), "err", o.Err, "bytes", s.size)
	}
	if action == PolicyReject {
		return gomilter.NewResponseStr(byte(gomilter.ActReplyCode), strings.ReplaceAll(s.cfg.reply, "%", "%%")), nil
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
	if action == PolicyQuarantine {
		if err := m.Quarantine("kasuhara: harassment"); err != nil {
			return nil, err
		}
	}
	return gomilter.RespAccept, nil
}

// check waits for one of cfg.checks and checks the message; its bytes stay
// counted in cfg.held until the session ends it.
func (s *milterSession) check() mailfilter.Outcome {
	select {
	case s.cfg.checks <- struct{}{}:
		defer func() { <-s.cfg.checks }()
	case <-s.cfg.ctx.Done():
		return mailfilter.Failed(fmt.Errorf("wait to check: %w", s.cfg.ctx.Err()))
	}
	msg := bytes.Join(s.chunks, nil)
	s.chunks = nil // the pieces can go while msg is read
	return s.cfg.filter.Check(s.cfg.ctx, msg)
}

// deleteForged deletes the X-Kasuhara-* fields the message came with, so
// that only the gateway's verdict is there to route on.
func (s *milterSession) deleteForged(m *gomilter.Modifier) error {
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
