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
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// TestBinaryServesOnLoopback builds the real binary, serves the embedded
// default lexicon on loopback ports, classifies over gRPC, scrapes metrics,
// and stops it with SIGTERM, which must exit 0.
func TestBinaryServesOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "kasuhara")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--shutdown-timeout", "5s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The first log line names the ports it picked.
	logs := bufio.NewReader(stderr)
	line, err := logs.ReadString('\n')
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	addrs := regexp.MustCompile(`grpc_addr=(\S+) http_addr=(\S+)`).FindStringSubmatch(line)
	if addrs == nil {
		t.Fatalf("first log line %q names no addresses", line)
	}
	rest := make(chan string)
	go func() { b, _ := io.ReadAll(logs); rest <- string(b) }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(addrs[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
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

	mresp, err := http.Get("http://" + addrs[2] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(body), `kasuhara_classify_messages_total{label="harassment"} 1`) {
		t.Errorf("metrics lack the harassment count:\n%.2000s", body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	logText := line + <-rest
	if strings.Contains(logText, "殺す") || strings.Contains(logText, "潰") {
		t.Errorf("log carries message text:\n%s", logText)
	}
	if !strings.Contains(logText, "shutting down") || !strings.Contains(logText, "stopped") {
		t.Errorf("log does not show the shutdown:\n%s", logText)
	}
}
