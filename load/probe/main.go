// Command probe is the prober of make load's overload phase: while ghz
// floods the server, it asks gRPC health Check and GET /metrics, one at a
// time, each on its own connection as a load balancer and a Prometheus
// scraper would, every -every, until it is sent SIGINT or SIGTERM (or
// -for passes). With -classify TEXT it also sends Classify calls one at a
// time, and times those refused RESOURCE_EXHAUSTED apart from those
// answered. It then prints each probe's count, p50, p99 and worst latency,
// and, with -want-p99, exits 1 when a health or /metrics p99 is over it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func run() error {
	grpcAddr := flag.String("grpc", "127.0.0.1:50051", "`HOST:PORT` of the gRPC server (health Check)")
	httpAddr := flag.String("http", "127.0.0.1:9090", "`HOST:PORT` of the HTTP server (/metrics)")
	every := flag.Duration("every", 20*time.Millisecond, "pause between two probes of a kind")
	limit := flag.Duration("for", 0, "stop after this long (0: at SIGINT or SIGTERM)")
	wantP99 := flag.Duration("want-p99", 0, "exit 1 when the health or /metrics p99 is over this (0: never)")
	classify := flag.String("classify", "", "also send Classify calls with this `text`, one at a time")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *limit)
		defer cancel()
	}

	conn, err := grpc.NewClient(*grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect %s: %w", *grpcAddr, err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	// The connection is made before the first timed probe.
	if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		return fmt.Errorf("first health check: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	metricsURL := "http://" + *httpAddr + "/metrics"

	probes := []*probe{
		{name: "health Check", do: func(ctx context.Context) error {
			_, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		}},
		{name: "GET /metrics", do: func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %s", resp.Status)
			}
			return nil
		}},
	}
	gated := len(probes)
	if *classify != "" {
		classifier := kasuharav1.NewClassifierClient(conn)
		refused := &probe{name: "Classify refused RESOURCE_EXHAUSTED"}
		answered := &probe{name: "Classify answered"}
		probes = append(probes, refused, answered)
		refused.do = func(ctx context.Context) error {
			start := time.Now()
			_, err := classifier.Classify(ctx, &kasuharav1.ClassifyRequest{Id: "probe", Text: *classify})
			switch status.Code(err) {
			case codes.ResourceExhausted:
				return nil
			case codes.OK:
				answered.lat = append(answered.lat, time.Since(start))
			default:
				answered.errors++
				if answered.first == nil {
					answered.first = err
				}
			}
			return errNotTimed
		}
	}
	done := make(chan struct{})
	running := 0
	for _, p := range probes {
		if p.do == nil {
			continue
		}
		running++
		go func() { p.run(ctx, *every); done <- struct{}{} }()
	}
	for range running {
		<-done
	}
	failed := false
	for i, p := range probes {
		fmt.Println(p.summary())
		if i < gated && *wantP99 > 0 && (p.percentile(99) > *wantP99 || p.errors > 0 || len(p.lat) == 0) {
			failed = true
		}
	}
	if *wantP99 > 0 {
		verdict := "PASS"
		if failed {
			verdict = "FAIL"
		}
		fmt.Printf("probe: want p99 <= %v and no error: %s\n", *wantP99, verdict)
	}
	if failed {
		os.Exit(1)
	}
	return nil
}

// probe is one kind of probe and the latencies it saw.
type probe struct {
	name   string
	do     func(context.Context) error
	lat    []time.Duration
	errors int
	first  error
}

// run probes every every until ctx ends; a probe gets 5 s.
func (p *probe) run(ctx context.Context, every time.Duration) {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		err := p.do(pctx)
		d := time.Since(start)
		cancel()
		switch {
		case errors.Is(err, errNotTimed):
		case err != nil:
			p.errors++
			if p.first == nil {
				p.first = err
			}
		default:
			p.lat = append(p.lat, d)
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

// errNotTimed is what a probe's do returns for a call it timed elsewhere.
var errNotTimed = errors.New("not timed here")

// percentile is the pth percentile latency, nearest rank; 0 with none.
func (p *probe) percentile(pct int) time.Duration {
	if len(p.lat) == 0 {
		return 0
	}
	s := slices.Clone(p.lat)
	slices.Sort(s)
	i := (len(s)*pct + 99) / 100
	return s[max(i-1, 0)]
}

func (p *probe) summary() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	s := fmt.Sprintf("probe %s: %d answered, p50 %s, p99 %s, worst %s, errors %d",
		p.name, len(p.lat), ms(p.percentile(50)), ms(p.percentile(99)), ms(p.percentile(100)), p.errors)
	if p.first != nil {
		s += fmt.Sprintf(" (first: %v)", p.first)
	}
	return s
}
