package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The messages sent through Postfix. Each has a unique Message-ID to find
// it in the mailbox by.
var (
	// A threat in ISO-2022-JP with an RFC 2047 subject asking for a manager
	// (責任者), a quoted line, and a forged verdict the gateway must drop.
	threatMsg = "From: taro@example.jp\r\n" +
		"To: support@example.test\r\n" +
		"Subject: =?ISO-2022-JP?B?GyRCQFVHJDxUGyhC?=\r\n" +
		"Message-ID: <threat-%s@example.jp>\r\n" +
		"X-Kasuhara-Label: routine\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=ISO-2022-JP\r\n" +
		"Content-Transfer-Encoding: 7bit\r\n" +
		"\r\n" +
		"\x1b$B;&$9$>\x1b(B\r\n" + // 殺すぞ
		"> quoted history\r\n"
	// An ordinary question in UTF-8, base64.
	routineMsg = "From: hanako@example.jp\r\n" +
		"To: support@example.test\r\n" +
		"Subject: =?UTF-8?B?6YWN6YCB44Gr44Gk44GE44Gm?=\r\n" + // 配送について
		"Message-ID: <routine-%s@example.jp>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"55m66YCB44Gv44GE44Gk44Gr44Gq44KK44G+44GZ44GL44CC\r\n" // 発送はいつになりますか。
)

// TestPostfixMilter runs a throwaway Postfix on loopback with three smtpd
// listeners, each using a `kasuhara milter` with one --on-harassment policy,
// sends mail with swaks, and reads what was delivered.
func TestPostfixMilter(t *testing.T) {
	if os.Getenv("KASUHARA_POSTFIX_E2E") != "1" {
		t.Skip("set KASUHARA_POSTFIX_E2E=1 to run Postfix end to end (needs root, postfix and swaks)")
	}
	for _, tool := range []string{"postfix", "postconf", "postqueue", "swaks"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: apt-get install postfix swaks", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("Postfix's master must start as root")
	}
	work := worldReadableTempDir(t)
	bin := filepath.Join(work, "kasuhara")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/kasuhara")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	lexicon, err := filepath.Abs("../../cmd/kasuhara/testdata/lexicon")
	if err != nil {
		t.Fatal(err)
	}
	lexVersion := lexiconVersion(t, bin, lexicon)

	milters := map[string]*milterProc{}
	for _, policy := range []string{"tag", "reject", "quarantine"} {
		milters[policy] = startMilter(t, bin, "--listen", "tcp:127.0.0.1:0", "--lexicon", lexicon, "--on-harassment", policy)
	}
	pf := startPostfix(t, work, map[string]string{
		"tag":        milters["tag"].addr,
		"reject":     milters["reject"].addr,
		"quarantine": milters["quarantine"].addr,
	})

	run := strconv.FormatInt(time.Now().UnixNano(), 36)

	t.Run("tag: delivered mail carries the verdict headers", func(t *testing.T) {
		out, err := pf.send("tag", fmt.Sprintf(threatMsg, run))
		if err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		got := pf.delivered(t, "threat-"+run)
		head, body, _ := strings.Cut(got, "\n\n")
		for _, want := range []string{
			"X-Kasuhara-Label: harassment\n",
			"X-Kasuhara-Score: 1\n",
			"X-Kasuhara-Categories: threat, escalation\n",
			"X-Kasuhara-Lexicon: " + lexVersion + "\n",
		} {
			if !strings.Contains(head+"\n", want) {
				t.Errorf("delivered header lacks %q:\n%s", want, head)
			}
		}
		if n := strings.Count(strings.ToLower(head), "x-kasuhara-label:"); n != 1 {
			t.Errorf("%d X-Kasuhara-Label fields, want 1 (the forged one dropped):\n%s", n, head)
		}
		if strings.Index(head, "X-Kasuhara-Label:") > strings.Index(head, "Received:") {
			t.Errorf("the verdict is not at the top of the header block:\n%s", head)
		}
		// The body is as sent (Postfix's maildir has LF line ends; swaks
		// ends DATA with one more line break).
		if want := "\x1b$B;&$9$>\x1b(B\n> quoted history\n"; strings.TrimSuffix(body, "\n") != want {
			t.Errorf("body %q, want %q unchanged", body, want)
		}
	})

	t.Run("tag: routine mail is labelled routine", func(t *testing.T) {
		if out, err := pf.send("tag", fmt.Sprintf(routineMsg, run)); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		got := pf.delivered(t, "routine-"+run)
		if !strings.Contains(got, "X-Kasuhara-Label: routine\n") || !strings.Contains(got, "X-Kasuhara-Categories: none\n") {
			t.Errorf("delivered:\n%s", got)
		}
	})

	t.Run("reject: harassment gets a 5xx at SMTP time", func(t *testing.T) {
		out, err := pf.send("reject", fmt.Sprintf(strings.Replace(threatMsg, "threat-", "rejected-", 1), run))
		if err == nil {
			t.Fatalf("swaks succeeded, want a refusal:\n%s", out)
		}
		if !regexp.MustCompile(`(?m)^<\*\* +550 5\.7\.1 Message refused`).MatchString(out) {
			t.Errorf("swaks output lacks the 550 after DATA:\n%s", out)
		}
		if pf.find("rejected-"+run) != "" {
			t.Error("a refused message was delivered")
		}
	})

	t.Run("reject: routine mail still passes", func(t *testing.T) {
		msg := fmt.Sprintf(strings.Replace(routineMsg, "routine-", "routine2-", 1), run)
		if out, err := pf.send("reject", msg); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		if got := pf.delivered(t, "routine2-"+run); !strings.Contains(got, "X-Kasuhara-Label: routine\n") {
			t.Errorf("delivered:\n%s", got)
		}
	})

	t.Run("quarantine: harassment is held in Postfix's hold queue", func(t *testing.T) {
		out, err := pf.send("quarantine", fmt.Sprintf(strings.Replace(threatMsg, "threat-", "held-", 1), run))
		if err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		id := regexp.MustCompile(`queued as ([0-9A-Za-z]+)`).FindStringSubmatch(out)
		if id == nil {
			t.Fatalf("no queue id in:\n%s", out)
		}
		if q := pf.queueOf(t, id[1]); q != "hold" {
			t.Errorf("message %s is in queue %q, want hold", id[1], q)
		}
	})

	// Every milter stops cleanly, and never logged message text.
	for policy, m := range milters {
		logs, err := m.stop()
		if err != nil {
			t.Errorf("%s milter: %v\n%s", policy, err, logs)
		}
		if strings.Contains(logs, "殺") || strings.Contains(logs, "quoted history") {
			t.Errorf("%s milter logged message text:\n%s", policy, logs)
		}
		if !strings.Contains(logs, "message checked") {
			t.Errorf("%s milter logged no verdict:\n%s", policy, logs)
		}
	}
	if t.Failed() {
		t.Logf("Postfix log:\n%s", pf.log())
	}
}

// worldReadableTempDir is a temporary directory that Postfix's unprivileged
// processes can enter (t.TempDir's parent is private to root).
func worldReadableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kasuhara-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func lexiconVersion(t *testing.T, bin, lexicon string) string {
	t.Helper()
	cmd := exec.Command(bin, "classify", "--lexicon", lexicon)
	cmd.Stdin = strings.NewReader(`{"id":1,"text":"x"}` + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("classify: %v", err)
	}
	var r struct {
		Version string `json:"lexicon_version"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Version == "" {
		t.Fatalf("classify said %s: %v", out, err)
	}
	return r.Version
}

type milterProc struct {
	cmd  *exec.Cmd
	addr string // HOST:PORT
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{} // closed when stderr is drained
	once sync.Once
	err  error
}

// startMilter runs the real binary's milter and reads its address from the
// first log line.
func startMilter(t *testing.T, bin string, args ...string) *milterProc {
	t.Helper()
	m := &milterProc{cmd: exec.Command(bin, append([]string{"milter"}, args...)...), done: make(chan struct{})}
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.stop() })
	br := bufio.NewReader(stderr)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("milter log: %q, %v", line, err)
	}
	addr := regexp.MustCompile(`addr=tcp:(\S+)`).FindStringSubmatch(line)
	if addr == nil {
		t.Fatalf("first milter log line %q names no address", line)
	}
	m.addr = addr[1]
	m.logs.WriteString(line)
	go func() {
		defer close(m.done)
		b, _ := io.ReadAll(br)
		m.mu.Lock()
		m.logs.Write(b)
		m.mu.Unlock()
	}()
	return m
}

// stop sends SIGTERM, which must end the milter with status 0, and returns
// everything it logged.
func (m *milterProc) stop() (string, error) {
	m.once.Do(func() {
		m.cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { <-m.done; exited <- m.cmd.Wait() }()
		select {
		case m.err = <-exited:
		case <-time.After(10 * time.Second):
			m.cmd.Process.Kill()
			m.err = fmt.Errorf("no exit 10s after SIGTERM")
		}
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs.String(), m.err
}

type postfix struct {
	conf, queue, mail, maillog string
	ports                      map[string]string // policy → smtpd HOST:PORT
}

// startPostfix configures and starts a Postfix instance of its own under
// dir: config in dir/conf, queue, data and a maildir in dir, log in
// dir/maillog; one loopback smtpd per policy, each with its milter.
// Cleanup stops it and waits for its master to exit.
func startPostfix(t *testing.T, dir string, milters map[string]string) *postfix {
	t.Helper()
	pf := &postfix{
		conf: filepath.Join(dir, "conf"), queue: filepath.Join(dir, "queue"),
		mail: filepath.Join(dir, "mail"), maillog: filepath.Join(dir, "maillog"),
		ports: map[string]string{},
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := user.Lookup("postfix")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	for _, d := range []string{pf.conf, pf.queue, pf.mail, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	chown(t, data, owner.Uid, owner.Gid)
	chown(t, pf.mail, nobody.Uid, nobody.Gid)

	mainCF := fmt.Sprintf(`# A throwaway instance for kasuhara's end-to-end test.
compatibility_level = 3.6
queue_directory = %[1]s
data_directory = %[2]s
maillog_file = %[3]s
maillog_file_prefixes = %[4]s
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = kasuhara-e2e.localdomain
mydestination =
relayhost =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
# Everything for example.test lands in one maildir.
virtual_mailbox_domains = example.test
virtual_mailbox_base = %[5]s
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:%[6]s
virtual_gid_maps = static:%[7]s
virtual_minimum_uid = 1
smtpd_milters = inet:%[8]s
non_smtpd_milters = $smtpd_milters
milter_default_action = accept
`, pf.queue, data, pf.maillog, dir, pf.mail, nobody.Uid, nobody.Gid, milters["tag"])

	var master strings.Builder
	for _, policy := range []string{"tag", "reject", "quarantine"} {
		pf.ports[policy] = freePort(t)
		fmt.Fprintf(&master, "%s inet n - n - - smtpd -o smtpd_milters=inet:%s\n", pf.ports[policy], milters[policy])
	}
	// Postfix's own services, unchrooted so that nothing needs copying.
	master.WriteString(`pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
local     unix  - n n -  - local
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
`)
	write(t, filepath.Join(pf.conf, "main.cf"), mainCF)
	write(t, filepath.Join(pf.conf, "master.cf"), master.String())

	// postfix(1) reports problems on a terminal only; the log has them.
	if out, err := exec.Command("postfix", "-c", pf.conf, "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix start: %v\n%s\nlog:\n%s", err, out, pf.log())
	}
	t.Cleanup(func() { pf.stop(t) })
	for _, addr := range pf.ports {
		waitListening(t, addr)
	}
	return pf
}

// stop stops the instance and waits for its master process to exit.
func (pf *postfix) stop(t *testing.T) {
	pidText, _ := os.ReadFile(filepath.Join(pf.queue, "pid", "master.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if out, err := exec.Command("postfix", "-c", pf.conf, "stop").CombinedOutput(); err != nil {
		t.Errorf("postfix stop: %v\n%s", err, out)
	}
	if pid <= 0 {
		return
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	t.Errorf("postfix master %d still running 15s after stop; killing it", pid)
	syscall.Kill(pid, syscall.SIGKILL)
}

func (pf *postfix) log() string {
	b, _ := os.ReadFile(pf.maillog)
	return string(b)
}

// send sends msg through the smtpd of policy with swaks and returns its
// transcript; err is set if the server refused it.
func (pf *postfix) send(policy, msg string) (string, error) {
	cmd := exec.Command("swaks", "--server", pf.ports[policy], "--helo", "client.example.jp",
		"--from", "customer@example.jp", "--to", "support@example.test", "--data", "-", "--timeout", "60")
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// find returns the delivered message whose Message-ID contains id, or "".
func (pf *postfix) find(id string) string {
	files, _ := filepath.Glob(filepath.Join(pf.mail, "inbox", "new", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte("<"+id+"@")) {
			return string(b)
		}
	}
	return ""
}

// delivered waits for the message whose Message-ID contains id.
func (pf *postfix) delivered(t *testing.T, id string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if m := pf.find(id); m != "" {
			return m
		}
	}
	t.Fatalf("message %s not delivered in 30s; log:\n%s", id, pf.log())
	return ""
}

// queueOf returns the queue ("hold", "active", …) holding the message with
// queue id id, waiting a little for it to show.
func (pf *postfix) queueOf(t *testing.T, id string) string {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := exec.Command("postqueue", "-c", pf.conf, "-j").Output()
		if err != nil {
			t.Fatalf("postqueue -j: %v", err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var q struct {
				Queue string `json:"queue_name"`
				ID    string `json:"queue_id"`
			}
			if json.Unmarshal(line, &q) == nil && q.ID == id {
				return q.Queue
			}
		}
	}
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

func chown(t *testing.T, path, uid, gid string) {
	t.Helper()
	u, _ := strconv.Atoi(uid)
	g, _ := strconv.Atoi(gid)
	if err := os.Chown(path, u, g); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
