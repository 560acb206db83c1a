package server

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
)

// loadCurrent loads the lexicon in dir and holds a classifier for it,
// refusing texts over maxText bytes, as serve holds the current one.
func loadCurrent(t *testing.T, dir string, maxText int) *atomic.Pointer[classifier.Classifier] {
	t.Helper()
	lex, err := lexicon.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.New(lex, classifier.Options{MaxTextBytes: maxText})
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[classifier.Classifier]
	cur.Store(c)
	return &cur
}

// serveBufconn serves srv's gRPC API over an in-memory connection until
// the test ends, and returns a client connection to it.
func serveBufconn(t *testing.T, srv *server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	go srv.grpc.Serve(lis)
	t.Cleanup(srv.grpc.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
