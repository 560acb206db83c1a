package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// TestMain runs the tests, then removes the binary they built, if any.
func TestMain(m *testing.M) {
	m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// built is the real binary, built once per test process by kasuharaBinary
// into a temporary directory that TestMain removes.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// kasuharaBinary builds the binary on first use and returns its path.
func kasuharaBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "kasuhara-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "kasuhara")
		build := exec.Command("go", "build", "-o", built.bin, ".")
		build.Stderr = os.Stderr
		built.err = build.Run()
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// servedBinary is the real binary running kasuhara serve.
type servedBinary struct {
	cmd       *exec.Cmd
	grpcAddr  string
	httpAddr  string
	adminAddr string // "off" with --admin-addr ""
	firstLine string
	rest      chan string // the log after the first line, once stderr closes
}

// servingLine is the first log line of kasuhara serve, naming the ports
// it picked.
var servingLine = regexp.MustCompile(`grpc_addr=(\S+) http_addr=(\S+)(?: admin_addr=(\S+))?`)

// startServe builds the binary (once) and starts kasuhara serve with args,
// reading the addresses it listens on from its first log line. The
// process is killed when the test ends; the test stops it cleanly itself
// if it wants to. It skips the test in -short mode.
func startServe(t *testing.T, args ...string) *servedBinary {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cmd := exec.Command(kasuharaBinary(t), append([]string{"serve"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	logs := bufio.NewReader(stderr)
	line, err := logs.ReadString('\n')
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	addrs := servingLine.FindStringSubmatch(line)
	if addrs == nil {
		t.Fatalf("first log line %q names no addresses", line)
	}
	s := &servedBinary{cmd: cmd, grpcAddr: addrs[1], httpAddr: addrs[2], adminAddr: addrs[3], firstLine: line, rest: make(chan string, 1)}
	go func() { b, _ := io.ReadAll(logs); s.rest <- string(b) }()
	return s
}

// logText waits for the process to close its stderr (to exit) and returns
// everything it logged. Call it once.
func (s *servedBinary) logText() string {
	return s.firstLine + <-s.rest
}

// stop sends SIGTERM, waits for the process, which must exit 0, and
// returns everything it logged.
func (s *servedBinary) stop(t *testing.T) string {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	return s.logText()
}

// TestBinaryServesOnLoopback builds the real binary, serves the embedded
// default lexicon on loopback ports, classifies over gRPC, scrapes metrics,
// and stops it with SIGTERM, which must exit 0.
func TestBinaryServesOnLoopback(t *testing.T) {
	s := startServe(t, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--shutdown-timeout", "5s")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
	secret := "お前の会社、潰してやるからな。殺すぞ"
	resp, err := kasuharav1.NewClassifierClient(conn).Classify(ctx, &kasuharav1.ClassifyRequest{Id: "x", Text: secret})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT || len(resp.GetMatches()) == 0 {
		t.Errorf("resp = %v", resp)
	}

	mresp, err := http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(body), `kasuhara_classify_messages_total{label="harassment"} 1`) {
		t.Errorf("metrics lack the harassment count:\n%.2000s", body)
	}

	logText := s.stop(t)
	if strings.Contains(logText, "殺す") || strings.Contains(logText, "潰") {
		t.Errorf("log carries message text:\n%s", logText)
	}
	if !strings.Contains(logText, "shutting down") || !strings.Contains(logText, "stopped") {
		t.Errorf("log does not show the shutdown:\n%s", logText)
	}
}
