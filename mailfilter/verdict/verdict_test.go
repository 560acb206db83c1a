package verdict

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	"github.com/kasuhara/kasuhara/mailfilter"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// fakeServer is a remote kasuhara server that answers one fixed response
// and records the texts and authorization it was sent.
type fakeServer struct {
	kasuharav1.UnimplementedClassifierServer
	resp *kasuharav1.ClassifyResponse
	err  error
	mu   sync.Mutex
	got  []string
	auth []string
}

func (f *fakeServer) Classify(ctx context.Context, req *kasuharav1.ClassifyRequest) (*kasuharav1.ClassifyResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.got = append(f.got, req.GetText())
	f.auth = append(f.auth, strings.Join(md.Get("authorization"), ","))
	f.mu.Unlock()
	return f.resp, f.err
}

// start serves f on a loopback port and returns HOST:PORT.
func (f *fakeServer) start(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	kasuharav1.RegisterClassifierServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestRemote(t *testing.T) {
	cases := []struct {
		name    string
		resp    *kasuharav1.ClassifyResponse
		err     error
		key     string
		want    mailfilter.Verdict
		wantErr string
	}{
		{
			name: "categories come highest score first, ties by name",
			resp: &kasuharav1.ClassifyResponse{Label: kasuharav1.Label_LABEL_HARASSMENT, Score: 0.875, LexiconVersion: "remote-v1",
				CategoryScores: map[string]float64{"escalation": 0.5, "threat": 0.875, "abuse": 0.5}},
			want: mailfilter.Verdict{Label: "harassment", Score: 0.875, Categories: []string{"threat", "abuse", "escalation"}, Lexicon: "remote-v1"},
		},
		{
			name: "the API key goes as authorization: Bearer",
			resp: &kasuharav1.ClassifyResponse{Label: kasuharav1.Label_LABEL_ROUTINE, LexiconVersion: "v"},
			key:  "k-mail",
			want: mailfilter.Verdict{Label: "routine", Categories: []string{}, Lexicon: "v"},
		},
		{
			name:    "an answer without a label is an error",
			resp:    &kasuharav1.ClassifyResponse{LexiconVersion: "v"},
			wantErr: "server answered label LABEL_UNSPECIFIED",
		},
		{
			name:    "a server error is an error naming the server",
			err:     status.Error(codes.Internal, "boom"),
			wantErr: "code = Internal",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeServer{resp: c.resp, err: c.err}
			addr := f.start(t)
			classify, closeConn, err := Remote(addr, RemoteOptions{APIKey: c.key, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer closeConn()
			got, err := classify(context.Background(), "the text")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), addr) && c.err != nil {
					t.Fatalf("err = %v, want one with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("verdict %+v, want %+v", got, c.want)
			}
			wantAuth := ""
			if c.key != "" {
				wantAuth = "Bearer " + c.key
			}
			if f.got[0] != "the text" || f.auth[0] != wantAuth {
				t.Errorf("server got text %q with authorization %q, want %q with %q", f.got[0], f.auth[0], "the text", wantAuth)
			}
		})
	}
	if _, _, err := Remote("127.0.0.1:1", RemoteOptions{}); err == nil {
		t.Error("Remote with no timeout: no error")
	}
}

// An unreachable server fails within the timeout instead of hanging.
func TestRemoteUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	classify, closeConn, err := Remote(addr, RemoteOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn()
	if _, err := classify(context.Background(), "x"); status.Code(err) != codes.Unavailable && status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("err = %v, want Unavailable or DeadlineExceeded", err)
	}
}

func TestLocal(t *testing.T) {
	lex, err := lexicon.Load(fstest.MapFS{
		"threat.yaml":     {Data: []byte("category: threat\nentries:\n  - pattern: 殺す\n    weight: 1.0\n")},
		"escalation.yaml": {Data: []byte("category: escalation\nentries:\n  - pattern: 責任者\n    weight: 0.7\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.New(lex, classifier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Local(c)(context.Background(), "責任者を出せ、殺すぞ")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := c.Classify("責任者を出せ、殺すぞ")
	if got.Label != "harassment" || got.Score != r.Score || got.Lexicon != r.LexiconVersion ||
		len(got.Categories) < 2 || got.Categories[0] != "threat" {
		t.Errorf("verdict %+v, want harassment with threat first, score %v, lexicon %s (result %+v)", got, r.Score, r.LexiconVersion, r)
	}
	if _, err := Local(c)(context.Background(), "\xff"); err == nil {
		t.Error("invalid UTF-8: no error")
	}
}

func TestReadAPIKey(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, data, want, wantErr string }{
		{"the first key after comments and blank lines", "# gateway\n\n  k-mail  \nk-two\n", "k-mail", ""},
		{"no key is an error", "# none\n", "", "no key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "keys")
			if err := os.WriteFile(p, []byte(c.data), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadAPIKey(p)
			if got != c.want || (c.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ReadAPIKey = %q, %v; want %q, error %q", got, err, c.want, c.wantErr)
			}
		})
	}
	if _, err := ReadAPIKey(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: err = %v, want not-exist", err)
	}
}
