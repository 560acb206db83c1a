// Command floor is the floor make load measures kasuhara against: a gRPC
// server of the same Classifier proto with no interceptors, no limits and
// no metrics. With -work tokenize its Classify does nothing but tokenise
// the text with kagome and the IPA dictionary, as kasuhara does first, and
// answers an empty, routine ClassifyResponse: what a server that only
// tokenises could manage. With -work classify it classifies the text with
// the embedded default lexicon, as kasuhara serve does, and answers the
// same response: what kasuhara's classifier manages behind a bare gRPC
// server, so that kasuhara against it is the cost of the serving itself.
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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
	"github.com/kasuhara/kasuhara/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

type tokenizeFloor struct {
	kasuharav1.UnimplementedClassifierServer
	tok *tokenizer.Tokenizer
}

func (f *tokenizeFloor) Classify(_ context.Context, req *kasuharav1.ClassifyRequest) (*kasuharav1.ClassifyResponse, error) {
	_ = f.tok.Tokenize(req.GetText())
	return &kasuharav1.ClassifyResponse{Id: req.GetId(), Label: kasuharav1.Label_LABEL_ROUTINE}, nil
}

type classifyFloor struct {
	kasuharav1.UnimplementedClassifierServer
	c *classifier.Classifier
}

func (f *classifyFloor) Classify(_ context.Context, req *kasuharav1.ClassifyRequest) (*kasuharav1.ClassifyResponse, error) {
	r, err := f.c.Classify(req.GetText())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return server.ClassifyResponse(req.GetId(), r), nil
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "`HOST:PORT` to listen on (port 0 picks one)")
	work := flag.String("work", "tokenize", "what Classify does: `tokenize` or classify")
	flag.Parse()
	var srv kasuharav1.ClassifierServer
	switch *work {
	case "tokenize":
		tok, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
		if err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
		srv = &tokenizeFloor{tok: tok}
	case "classify":
		lex, err := lexicon.Default()
		if err != nil {
			return fmt.Errorf("lexicon: %w", err)
		}
		c, err := classifier.New(lex, classifier.Options{})
		if err != nil {
			return fmt.Errorf("classifier: %w", err)
		}
		srv = &classifyFloor{c: c}
	default:
		return fmt.Errorf("-work %q, want tokenize or classify", *work)
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	gs := grpc.NewServer()
	kasuharav1.RegisterClassifierServer(gs, srv)
	reflection.Register(gs) // ghz finds the method as it does on kasuhara
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); gs.GracefulStop() }()
	fmt.Fprintf(os.Stderr, "floor: serving on %s\n", lis.Addr())
	return gs.Serve(lis)
}
