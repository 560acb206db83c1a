package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// BenchmarkServeClassify is unary Classify through the whole server
// (interceptors, metrics, admission) on loopback TCP, 25×GOMAXPROCS calls
// at a time, the dev corpus texts round-robin. It reports throughput and
// latency apart: ns/op and calls/s are the wall time of the run over the
// calls made, what the server sustains with that many callers; p50-ns/call
// and p99-ns/call are percentiles of each call's own latency, timed around
// the call, which includes the time it queued behind the others.
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
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
	)
	b.SetParallelism(25) // 50 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		defer func() {
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
		for pb.Next() {
			text := texts[next.Add(1)%int64(len(texts))]
			start := time.Now()
			_, err := client.Classify(context.Background(), &kasuharav1.ClassifyRequest{Text: text})
			mine = append(mine, time.Since(start))
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(len(latencies))/b.Elapsed().Seconds(), "calls/s")
	slices.Sort(latencies)
	b.ReportMetric(float64(percentile(latencies, 50).Nanoseconds()), "p50-ns/call")
	b.ReportMetric(float64(percentile(latencies, 99).Nanoseconds()), "p99-ns/call")
}

// percentile is the p-th percentile of sorted, by the nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(i, 0)]
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 200; i++ {
		ds = append(ds, time.Duration(i))
	}
	for _, c := range []struct {
		ds   []time.Duration
		p    int
		want time.Duration
	}{
		{ds, 50, 100}, {ds, 99, 198}, {ds, 100, 200}, {ds[:1], 99, 1}, {ds[:3], 50, 2}, {nil, 50, 0},
	} {
		if got := percentile(c.ds, c.p); got != c.want {
			t.Errorf("p%d of %d values = %v, want %v", c.p, len(c.ds), got, c.want)
		}
	}
}
