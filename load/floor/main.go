// Command floor is the floor make load measures kasuhara against: a gRPC
// server of the same Classifier proto whose Classify does nothing but
// tokenise the text with kagome and the IPA dictionary, as kasuhara does
// first, and answers an empty, routine ClassifyResponse. No interceptors,
// no limits, no metrics: what a server that only tokenises could manage.
// It logs "floor: serving on ADDR" once it listens.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

type floor struct {
	kasuharav1.UnimplementedClassifierServer
	tok *tokenizer.Tokenizer
}

func (f *floor) Classify(_ context.Context, req *kasuharav1.ClassifyRequest) (*kasuharav1.ClassifyResponse, error) {
	_ = f.tok.Tokenize(req.GetText())
	return &kasuharav1.ClassifyResponse{Id: req.GetId(), Label: kasuharav1.Label_LABEL_ROUTINE}, nil
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "`HOST:PORT` to listen on (port 0 picks one)")
	flag.Parse()
	tok, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	gs := grpc.NewServer()
	kasuharav1.RegisterClassifierServer(gs, &floor{tok: tok})
	reflection.Register(gs) // ghz finds the method as it does on kasuhara
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); gs.GracefulStop() }()
	fmt.Fprintf(os.Stderr, "floor: serving on %s\n", lis.Addr())
	return gs.Serve(lis)
}
