package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-milter"

	kmilter "github.com/kasuhara/kasuhara/mailfilter/milter"
)

type runningMilter struct {
	network, addr string
	logs          *syncBuffer
	stop          func() error // cancels the context and returns runMilter's error
}

// startMilter runs `kasuhara milter ARGS` in-process and waits for the log
// line naming its address.
func startMilter(t *testing.T, args ...string) *runningMilter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runMilter(ctx, args, nil, io.Discard, pw)
		pw.Close()
		done <- err
	}()
	logs := &syncBuffer{}
	first := make(chan string, 1)
	copied := make(chan struct{}) // closed once the last log line is in logs
	go func() {
		defer close(copied)
		br := bufio.NewReader(pr)
		line, _ := br.ReadString('\n')
		logs.Write([]byte(line))
		first <- line
		io.Copy(logs, br)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(60 * time.Second):
		t.Fatal("milter did not log its address")
	}
	m := regexp.MustCompile(`addr=(tcp|unix):(\S+)`).FindStringSubmatch(line)
	if m == nil {
		cancel()
		t.Fatalf("first log line %q names no address; runMilter: %v", line, <-done)
	}
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				stopErr = errors.New("milter did not stop")
				return
			}
			// runMilter has closed its log; wait for the copy to catch up,
			// so that its last lines are there to read.
			select {
			case <-copied:
			case <-time.After(10 * time.Second):
				stopErr = errors.New("the milter's log was not read to its end")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { stop() })
	return &runningMilter{network: m[1], addr: m[2], logs: logs, stop: stop}
}

// milterResult is what the milter answered to one message.
type milterResult struct {
	mods []milter.ModifyAction
	act  *milter.Action
}

// header returns the value of the header field inserted as name, or "".
func (r milterResult) inserted() []string {
	var out []string
	for _, m := range r.mods {
		if m.Code == milter.ActInsertHeader {
			out = append(out, fmt.Sprintf("%d %s: %s", m.HeaderIndex, m.HeaderName, m.HeaderValue))
		}
	}
	return out
}

// send passes one message through s as an MTA does: header fields, end of
// headers, body, end of message.
func send(t *testing.T, s *milter.ClientSession, msg string) milterResult {
	t.Helper()
	if !strings.Contains(msg, "\r\n\r\n") {
		t.Fatalf("message without a blank line: %q", msg)
	}
	begin(t, s, msg) // these test messages have one line per field
	return finish(t, s, msg)
}

func session(t *testing.T, r *runningMilter) *milter.ClientSession {
	t.Helper()
	c := milter.NewClientWithOptions(r.network, r.addr, milter.ClientOptions{
		ActionMask:  milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
	})
	s, err := c.Session()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const (
	milterThreat  = "From: taro@example.jp\r\nSubject: =?ISO-2022-JP?B?GyRCQFVHJDxUGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n\x1b$B;&$9$>\x1b(B\r\n"
	milterRoutine = "From: taro@example.jp\r\nSubject: question\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWhen will my order ship?\r\n"
)

func verdictHeaders(label, score, cats, lex string) []string {
	return []string{
		"0 X-Kasuhara-Label: " + label,
		"1 X-Kasuhara-Score: " + score,
		"2 X-Kasuhara-Categories: " + cats,
		"3 X-Kasuhara-Lexicon: " + lex,
	}
}

func TestMilterPolicies(t *testing.T) {
	lex := testLexiconVersion(t)
	harassment := verdictHeaders("harassment", "1", "threat, escalation", lex)
	routine := verdictHeaders("routine", "0", "none", lex)
	cases := []struct {
		name       string
		args       []string
		msg        string
		act        milter.ActionCode
		reply      string // with ActReplyCode: code and text
		inserted   []string
		quarantine bool
		deleted    []string // "INDEX NAME"
	}{
		{name: "tag adds the verdict at the top and accepts", args: []string{"--on-harassment", "tag"}, msg: milterThreat,
			act: milter.ActAccept, inserted: harassment},
		{name: "quarantine adds the verdict and holds harassment", args: []string{"--on-harassment", "quarantine"}, msg: milterThreat,
			act: milter.ActAccept, inserted: harassment, quarantine: true},
		{name: "quarantine leaves routine mail alone", args: []string{"--on-harassment", "quarantine"}, msg: milterRoutine,
			act: milter.ActAccept, inserted: routine},
		{name: "reject refuses harassment with the default 5xx", args: []string{"--on-harassment", "reject"}, msg: milterThreat,
			act: milter.ActReplyCode, reply: kmilter.DefaultRejectReply},
		{name: "reject uses --reject-reply, % doubled for the MTA", args: []string{"--on-harassment", "reject", "--reject-reply", "554 5.7.0 No, 100% refused"}, msg: milterThreat,
			act: milter.ActReplyCode, reply: "554 5.7.0 No, 100%% refused"},
		{name: "reject accepts routine mail with the verdict", args: []string{"--on-harassment", "reject"}, msg: milterRoutine,
			act: milter.ActAccept, inserted: routine},
		{name: "X-Kasuhara fields the sender wrote are deleted", args: nil,
			msg: "X-Kasuhara-Label: routine\r\nSubject: hi\r\nx-kasuhara-label: routine\r\nX-Kasuhara-Score: 0\r\n\r\n\xe6\xae\xba\xe3\x81\x99\r\n",
			act: milter.ActAccept, inserted: verdictHeaders("harassment", "1", "threat", lex),
			deleted: []string{"2 x-kasuhara-label", "1 x-kasuhara-label", "1 X-Kasuhara-Score"}},
		{name: "a part that cannot be read is named, the rest scored", args: nil,
			msg: "Subject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xe6\xae\xba\xe3\x81\x99\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--b--\r\n",
			act: milter.ActAccept, inserted: append(verdictHeaders("harassment", "1", "threat", lex), "4 X-Kasuhara-Skipped: part 2: bad base64")},
		{name: "over --max-message-bytes passes unscored", args: []string{"--max-message-bytes", "100"},
			msg: "Subject: long\r\n\r\n" + strings.Repeat("\xe6\xae\xba\xe3\x81\x99\r\n", 100),
			act: milter.ActAccept, inserted: []string{"0 X-Kasuhara-Error: too-large; not scored: the message is over the size limit (over 100 bytes)"}},
		{name: "an unreachable --server passes unscored", args: []string{"--server", unusedAddr(t), "--server-timeout", "5s"}, msg: milterThreat,
			act: milter.ActAccept, inserted: []string{"0 X-Kasuhara-Error: classify-failed; not scored: the classifier failed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--listen", "tcp:127.0.0.1:0", "--lexicon", "testdata/lexicon"}, c.args...)
			r := startMilter(t, args...)
			res := send(t, session(t, r), c.msg)
			if res.act.Code != c.act {
				t.Fatalf("action %c, want %c", res.act.Code, c.act)
			}
			if c.reply != "" {
				if got := fmt.Sprintf("%d %s", res.act.SMTPCode, res.act.SMTPText); got != c.reply {
					t.Errorf("reply %q, want %q", got, c.reply)
				}
				if len(res.mods) != 0 {
					t.Errorf("a refused message was modified: %+v", res.mods)
				}
			}
			if got := res.inserted(); strings.Join(got, "\n") != strings.Join(c.inserted, "\n") {
				t.Errorf("inserted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.inserted, "\n"))
			}
			var quarantined bool
			var deleted []string
			for _, m := range res.mods {
				switch m.Code {
				case milter.ActQuarantine:
					quarantined = true
				case milter.ActChangeHeader:
					if m.HeaderValue != "" {
						t.Errorf("changed %s to %q, want deleted", m.HeaderName, m.HeaderValue)
					}
					deleted = append(deleted, fmt.Sprintf("%d %s", m.HeaderIndex, m.HeaderName))
				case milter.ActInsertHeader:
				default:
					t.Errorf("unexpected modification %+v", m)
				}
			}
			if quarantined != c.quarantine {
				t.Errorf("quarantined %v, want %v", quarantined, c.quarantine)
			}
			if strings.Join(deleted, ",") != strings.Join(c.deleted, ",") {
				t.Errorf("deleted %q, want %q", deleted, c.deleted)
			}
			if err := r.stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			logs := r.logs.String()
			if !strings.Contains(logs, "queue_id=QUEUE1") {
				t.Errorf("logs do not name the queue id:\n%s", logs)
			}
			if strings.Contains(logs, "殺") || strings.Contains(logs, "When will") || strings.Contains(logs, "question") {
				t.Errorf("logs carry message text:\n%s", logs)
			}
		})
	}
}

// One MTA connection carries several messages; each is judged on its own,
// and an aborted message leaves nothing behind.
func TestMilterSessionCarriesManyMessages(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "milter.sock")
	r := startMilter(t, "--listen", "unix:"+sock, "--lexicon", "testdata/lexicon")
	if r.network != "unix" || r.addr != sock {
		t.Fatalf("listening on %s:%s, want unix:%s", r.network, r.addr, sock)
	}
	s := session(t, r)
	if got := send(t, s, milterThreat).inserted(); len(got) == 0 || got[0] != "0 X-Kasuhara-Label: harassment" {
		t.Fatalf("first message: %q", got)
	}
	if got := send(t, s, milterRoutine).inserted(); len(got) == 0 || got[0] != "0 X-Kasuhara-Label: routine" {
		t.Errorf("second message: %q", got)
	}
	// A message aborted after its body, then a routine one.
	if _, err := s.HeaderField("Subject", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BodyChunk([]byte("\xe6\xae\xba\xe3\x81\x99\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := send(t, s, milterRoutine).inserted(); len(got) == 0 || got[0] != "0 X-Kasuhara-Label: routine" {
		t.Errorf("message after an abort: %q", got)
	}
	if err := r.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if !strings.Contains(r.logs.String(), "milter stopped") {
		t.Errorf("logs do not show the stop:\n%s", r.logs.String())
	}
}

func TestMilterFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // in the error; "" means errUsage
	}{
		{"--listen is required", []string{"--lexicon", "testdata/lexicon"}, ""},
		{"an unknown policy is refused", []string{"--listen", "tcp:127.0.0.1:0", "--on-harassment", "drop"}, `--on-harassment "drop", want tag|quarantine|reject`},
		{"a 4xx reply is refused", []string{"--listen", "tcp:127.0.0.1:0", "--reject-reply", "450 try later"}, "--reject-reply"},
		{"a reply with non-ASCII text is refused", []string{"--listen", "tcp:127.0.0.1:0", "--reject-reply", "550 拒否"}, "--reject-reply"},
		{"an unknown network is refused", []string{"--listen", "udp:127.0.0.1:0", "--lexicon", "testdata/lexicon"}, `--listen "udp:127.0.0.1:0"`},
		{"a held budget below the message size is refused", []string{"--listen", "tcp:127.0.0.1:0", "--max-message-bytes", "2000", "--max-held-bytes", "1000"}, "--max-held-bytes 1000, want >= --max-message-bytes 2000"},
		{"an invalid lexicon stops the milter from starting", []string{"--listen", "tcp:127.0.0.1:0", "--lexicon", "testdata/no-such-lexicon"}, "no-such-lexicon"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := runMilter(context.Background(), c.args, nil, io.Discard, io.Discard)
			if c.want == "" {
				if !errors.Is(err, errUsage) {
					t.Errorf("err = %v, want errUsage", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestMilterDrainsMessagesInProgress: on shutdown a message already begun
// gets its verdict before the milter stops, a message begun after gets a
// temporary failure (the sender retries), and past --shutdown-timeout a
// message still in progress is cut off.
func TestMilterDrainsMessagesInProgress(t *testing.T) {
	r := startMilter(t, "--listen", "tcp:127.0.0.1:0", "--lexicon", "testdata/lexicon", "--shutdown-timeout", "20s")
	s, late := session(t, r), session(t, r)
	begin(t, s, milterThreat)
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	waitLog(t, r, "milter draining")
	if act, err := late.HeaderField("Subject", "x"); err != nil || act.Code != milter.ActTempFail {
		t.Errorf("a message begun while draining: %v, %v; want a temporary failure", act, err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("the milter stopped with a message in progress: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	res := finish(t, s, milterThreat)
	if got := res.inserted(); len(got) == 0 || got[0] != "0 X-Kasuhara-Label: harassment" {
		t.Errorf("the message in progress got %q, want its verdict", got)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the milter did not stop once the message was done")
	}

	r = startMilter(t, "--listen", "tcp:127.0.0.1:0", "--lexicon", "testdata/lexicon", "--shutdown-timeout", "200ms")
	begin(t, session(t, r), milterThreat)
	start := time.Now()
	if err := r.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping took %v with a 200ms timeout", d)
	}
	waitLog(t, r, "milter drain timed out")
}

// begin sends msg's header fields and their end: the message is then in
// progress.
func begin(t *testing.T, s *milter.ClientSession, msg string) {
	t.Helper()
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		if act, err := s.HeaderField(name, strings.TrimPrefix(value, " ")); err != nil || act.Code != milter.ActContinue {
			t.Fatalf("header %s: %v, %v", name, act, err)
		}
	}
	if act, err := s.HeaderEnd(); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("end of headers: %v, %v", act, err)
	}
}

// finish sends the body of a message begun with begin and its end.
func finish(t *testing.T, s *milter.ClientSession, msg string) milterResult {
	t.Helper()
	_, body, _ := strings.Cut(msg, "\r\n\r\n")
	if err := s.Macros(milter.CodeEOB, "i", "QUEUE1"); err != nil {
		t.Fatal(err)
	}
	mods, act, err := s.BodyReadFrom(strings.NewReader(body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return milterResult{mods, act}
}

// waitLog waits for text in r's log.
func waitLog(t *testing.T, r *runningMilter, text string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(r.logs.String(), text); {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", text, r.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMilterDrainIgnoresDroppedConnections: a connection the MTA drops
// mid-message, without an abort, leaves no message counted in progress:
// a later shutdown does not wait for it.
func TestMilterDrainIgnoresDroppedConnections(t *testing.T) {
	r := startMilter(t, "--listen", "tcp:127.0.0.1:0", "--lexicon", "testdata/lexicon", "--shutdown-timeout", "20s")
	c, err := net.Dial(r.network, r.addr)
	if err != nil {
		t.Fatal(err)
	}
	var negotiate []byte
	negotiate = binary.BigEndian.AppendUint32(negotiate, 6)     // protocol version
	negotiate = binary.BigEndian.AppendUint32(negotiate, 0x1ff) // actions
	negotiate = binary.BigEndian.AppendUint32(negotiate, 0)     // protocol steps
	rawMilterPacket(t, c, 'O', negotiate)
	rawMilterPacket(t, c, 'L', []byte("Subject\x00hello\x00")) // the message begins
	c.Close()                                                  // and is dropped: no abort
	start := time.Now()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping took %v with no message in progress; log:\n%s", d, r.logs.String())
	}
}

// rawMilterPacket sends one milter packet on c and reads the reply.
func rawMilterPacket(t *testing.T, c net.Conn, code byte, data []byte) {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)+1))
	if _, err := c.Write(append(append(b, code), data...)); err != nil {
		t.Fatal(err)
	}
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
		t.Fatal(err)
	}
}

// TestMilterHoldsAtMostMaxHeldBytes: the message bytes all sessions hold
// count against --max-held-bytes; a message that would go past it is
// tempfailed with 451 4.3.2 at once, without waiting and without keeping
// anything, and its bytes and those of messages that end, abort or go over
// the size cap are free for the next.
func TestMilterHoldsAtMostMaxHeldBytes(t *testing.T) {
	r := startMilter(t, "--listen", "tcp:127.0.0.1:0", "--lexicon", "testdata/lexicon", "--max-message-bytes", "1000", "--max-held-bytes", "1000")
	body := func(n int) []byte { return []byte(strings.Repeat("a", n-2) + "\r\n") }
	// start sends a header field (20 bytes held), the end of the header
	// (2) and a body chunk of n bytes, and returns the answer to the chunk.
	start := func(s *milter.ClientSession, n int) *milter.Action {
		t.Helper()
		begin(t, s, "Subject: held test\r\n\r\n")
		act, err := s.BodyChunk(body(n))
		if err != nil {
			t.Fatal(err)
		}
		return act
	}
	end := func(s *milter.ClientSession) []string {
		t.Helper()
		mods, act, err := s.End()
		if err != nil || act.Code != milter.ActAccept {
			t.Fatalf("end of message: %v, %v; want accept", act, err)
		}
		return milterResult{mods: mods, act: act}.inserted()
	}
	tempfailed := func(what string, act *milter.Action) {
		t.Helper()
		if got := fmt.Sprintf("%c %d %s", act.Code, act.SMTPCode, act.SMTPText); got != "y 451 4.3.2 kasuhara: too many large messages at once, try again later" {
			t.Errorf("%s: %q, want a 451 4.3.2 reply", what, got)
		}
	}

	a := session(t, r)
	if act := start(a, 700); act.Code != milter.ActContinue {
		t.Fatalf("first message: %v", act)
	}
	b := session(t, r)
	tempfailed("a message past the budget", start(b, 400))
	if got := end(a); len(got) == 0 || got[0] != "0 X-Kasuhara-Label: routine" {
		t.Errorf("the message within the budget: %q", got)
	}

	// a's bytes are free once it has its verdict; an aborted message's
	// once it is aborted.
	c := session(t, r)
	if act := start(c, 900); act.Code != milter.ActContinue {
		t.Fatalf("after the first message ended: %v", act)
	}
	if err := c.Abort(); err != nil {
		t.Fatal(err)
	}
	d := session(t, r)
	if act := start(d, 900); act.Code != milter.ActContinue {
		t.Fatalf("after an abort: %v", act)
	}
	// Over --max-message-bytes, d keeps nothing: it will pass as too
	// large, and its bytes are free at once.
	if act, err := d.BodyChunk(body(200)); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("over the size cap: %v, %v", act, err)
	}
	e := session(t, r)
	if act := start(e, 900); act.Code != milter.ActContinue {
		t.Fatalf("beside a message over the size cap: %v", act)
	}
	if got := end(d); len(got) != 1 || !strings.Contains(got[0], "too-large") {
		t.Errorf("the message over the size cap: %q", got)
	}
	if got := end(e); len(got) == 0 || got[0] != "0 X-Kasuhara-Label: routine" {
		t.Errorf("the message beside it: %q", got)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if logs := r.logs.String(); strings.Count(logs, "message tempfailed") != 1 {
		t.Errorf("want one tempfailed message logged:\n%s", logs)
	}
}
