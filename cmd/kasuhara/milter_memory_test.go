package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-milter"

	kmilter "github.com/kasuhara/kasuhara/mailfilter/milter"
)

// largeTextMail is a message of about size bytes whose one part is
// base64 UTF-8 text, the most a message makes the milter decode and hold.
func largeTextMail(size int) string {
	line := strings.Repeat("お問い合わせの件、至急ご確認ください。", 4) + "\n"
	var text strings.Builder
	for text.Len()*4/3 < size-200 {
		text.WriteString(line)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(text.String()))
	var body strings.Builder
	for len(b64) > 76 {
		body.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	body.WriteString(b64 + "\r\n")
	return "Subject: large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body.String()
}

// milterBinary is the real binary running kasuhara milter.
type milterBinary struct {
	cmd  *exec.Cmd
	addr string
}

// startMilterBinary builds the binary (once) and starts kasuhara milter
// with args on a loopback port, waiting for the log line naming it.
func startMilterBinary(t *testing.T, args ...string) *milterBinary {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cmd := exec.Command(kasuharaBinary(t), append([]string{"milter", "--listen", "tcp:127.0.0.1:0", "--lexicon", "testdata/lexicon"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := bufio.NewReader(stderr)
	line, err := logs.ReadString('\n')
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	m := regexp.MustCompile(`addr=tcp:(\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first log line %q names no address", line)
	}
	go io.Copy(io.Discard, logs)
	return &milterBinary{cmd: cmd, addr: m[1]}
}

// peakRSS is the most memory the process has had resident (VmHWM).
func (m *milterBinary) peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc to read resident memory from: %v", err)
	}
	kb := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if kb == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", m.cmd.Process.Pid)
	}
	n, _ := strconv.ParseInt(string(kb[1]), 10, 64)
	return n << 10
}

// sendConcurrently passes msg through n milter sessions at once, each
// sent in full before any ends (so that all of them hold their bytes
// together, whatever the scheduling), and counts the answers by action
// code.
func sendConcurrently(t *testing.T, addr string, n int, msg string) map[milter.ActionCode]int {
	t.Helper()
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	var mu sync.Mutex
	acts := map[milter.ActionCode]int{}
	var errs []error
	var sent, wg sync.WaitGroup
	sent.Add(n)
	for range n {
		wg.Go(func() {
			act, err := sendOne(addr, head, body, sent.Done, sent.Wait)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			acts[act]++
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	return acts
}

// sendOne passes one message through a new session and returns the
// milter's final action: at the first answer that is not "continue". It
// calls sent once, when the message is sent but for its end or has been
// answered, and wait before it ends the message.
func sendOne(addr, head, body string, sent, wait func()) (milter.ActionCode, error) {
	var once sync.Once
	defer once.Do(sent)
	c := milter.NewClientWithOptions("tcp", addr, milter.ClientOptions{
		ActionMask:  milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine,
		ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute,
	})
	s, err := c.Session()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	for _, line := range strings.Split(head, "\r\n") {
		name, value, _ := strings.Cut(line, ": ")
		if act, err := s.HeaderField(name, value); err != nil || act.Code != milter.ActContinue {
			return actCode(act), err
		}
	}
	if act, err := s.HeaderEnd(); err != nil || act.Code != milter.ActContinue {
		return actCode(act), err
	}
	for len(body) > 0 {
		chunk := body[:min(len(body), 65535)]
		body = body[len(chunk):]
		if act, err := s.BodyChunk([]byte(chunk)); err != nil || act.Code != milter.ActContinue {
			return actCode(act), err
		}
	}
	once.Do(sent)
	wait()
	_, act, err := s.End()
	return actCode(act), err
}

func actCode(a *milter.Action) milter.ActionCode {
	if a == nil {
		return 0
	}
	return a.Code
}

// TestMilterMemoryUnderLargeMessages: 20 sessions at once, each sending a
// 9.5 MB text message (what took the milter to 777 MB before it had a
// budget), keep its peak resident memory within the bound the README
// states: its memory before the messages, plus twice (Go's garbage
// collector lets the heap grow to twice what is live) --max-held-bytes
// and, for each CPU checking a message, four times --max-message-bytes
// (the pieces, the message joined, its decoded text as bytes and as a
// string). Past the budget, messages are tempfailed, never lost; 20
// messages of 1 MB fit and all pass.
func TestMilterMemoryUnderLargeMessages(t *testing.T) {
	m := startMilterBinary(t)
	before := m.peakRSS(t)
	bound := before + 2*(kmilter.DefaultMaxHeldBytes+int64(runtime.NumCPU())*4*DefaultMaxMessageBytes)

	acts := sendConcurrently(t, m.addr, 20, largeTextMail(9_500_000))
	peak := m.peakRSS(t)
	t.Logf("20 messages of 9.5 MB: peak RSS %d MiB (%d MiB before them, bound %d MiB); answers %v", peak>>20, before>>20, bound>>20, acts)
	if peak > bound {
		t.Errorf("peak RSS %d MiB, want <= %d MiB", peak>>20, bound>>20)
	}
	if acts[milter.ActAccept] == 0 || acts[milter.ActReplyCode] == 0 || acts[milter.ActAccept]+acts[milter.ActReplyCode] != 20 {
		t.Errorf("answers %v, want some accepted and the rest tempfailed (%c)", acts, milter.ActReplyCode)
	}

	if acts := sendConcurrently(t, m.addr, 20, largeTextMail(1_000_000)); acts[milter.ActAccept] != 20 {
		t.Errorf("20 messages of 1 MB: answers %v, want all accepted", acts)
	}
}
