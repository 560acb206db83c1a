package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// BenchmarkServeClassify is unary Classify through the whole server
// (interceptors, metrics, admission) on loopback TCP, 50 calls at a time,
// the dev corpus texts round-robin: ns/op is wall time per call.
func BenchmarkServeClassify(b *testing.B) {
	data, err := os.ReadFile("../../shared/eval/dev.jsonl")
	if err != nil {
		b.Skipf("dev corpus: %v", err)
	}
	var texts []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m struct{ Text string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Text != "" {
			texts = append(texts, m.Text)
		}
	}
	lex, err := lexicon.Default()
	srv := newServer(prometheus.NewRegistry(), serverDeps{current: serving(b, lex, err), maxBatch: DefaultMaxBatch,
		limits: Limits{MaxConcurrentStreams: DefaultMaxConcurrentStreams, MaxInFlight: DefaultMaxInFlight()}, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.grpc.Serve(lis)
	defer srv.grpc.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := kasuharav1.NewClassifierClient(conn)
	var next atomic.Int64
	b.SetParallelism(25) // 50 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			text := texts[next.Add(1)%int64(len(texts))]
			if _, err := client.Classify(context.Background(), &kasuharav1.ClassifyRequest{Text: text}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
