// Command idlestreams is the hostile client of make load's hostile phase:
// it opens -streams ClassifyStream calls over -conns connections to a
// kasuhara server, sends nothing on them, and holds them open until it is
// sent SIGINT or SIGTERM, reopening any the server ends (as an attacker
// would). It prints one line when they are all open ("idle streams: 130
// open") and, at the end, how many the server ended.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "idlestreams:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:50051", "`HOST:PORT` of the kasuhara gRPC server")
	streams := flag.Int("streams", 130, "idle ClassifyStream calls to hold open")
	conns := flag.Int("conns", 2, "connections to spread them over")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	clients := make([]kasuharav1.ClassifierClient, *conns)
	for i := range clients {
		conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("connect %s: %w", *addr, err)
		}
		defer conn.Close()
		clients[i] = kasuharav1.NewClassifierClient(conn)
	}
	var opened, ended atomic.Int64
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range *streams {
		wg.Go(func() {
			for ctx.Err() == nil {
				s, err := clients[i%len(clients)].ClassifyStream(ctx)
				if err != nil {
					return
				}
				// grpc-go sends the call's headers as it opens the stream;
				// the server has started it once they arrive.
				if opened.Add(1) == int64(*streams) {
					close(ready)
				}
				if _, err := s.Recv(); err != nil && ctx.Err() == nil {
					ended.Add(1) // the server ended it: reopen
				}
			}
		})
	}
	select {
	case <-ready:
		fmt.Printf("idle streams: %d open over %d connections\n", *streams, *conns)
	case <-ctx.Done():
	}
	<-ctx.Done()
	wg.Wait()
	fmt.Printf("idle streams: the server ended %d of them while they were idle\n", ended.Load())
	return nil
}
