package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/http/*.response.json from what the server answers")

// mappingLexicon has one entry per category, each with a weight of its
// own, so a score shows which categories it came from.
const mappingLexicon = "testdata/http/lexicon"

type httpTest struct {
	url  string
	reg  *prometheus.Registry
	grpc kasuharav1.ClassifierClient // the same server over bufconn
	logs *syncBuffer                 // everything logged, at debug level
	adm  *admission                  // the in-flight limit HTTP and gRPC share
	conn *grpc.ClientConn            // the bufconn connection grpc uses
}

type httpTestOptions struct {
	lexicon  string // default testdata/lexicon (殺す 1.0, 責任者 0.7)
	maxText  int    // default 1024
	maxBatch int    // default 8
	keys     []string
	// maxInFlight is the in-flight limit gRPC calls and HTTP requests
	// share; 0: none.
	maxInFlight int
	// maxRequestBytes is the request byte budget they share; 0: none.
	maxRequestBytes int64
}

// startHTTP serves a whole server (newServer) over httptest, and its gRPC
// API over bufconn, with a debug logger that records everything.
func startHTTP(t *testing.T, o httpTestOptions) *httpTest {
	t.Helper()
	if o.lexicon == "" {
		o.lexicon = "testdata/lexicon"
	}
	if o.maxText == 0 {
		o.maxText = 1024
	}
	if o.maxBatch == 0 {
		o.maxBatch = 8
	}
	cur := loadCurrent(t, o.lexicon, o.maxText)
	var keys *APIKeys
	if o.keys != nil {
		path := filepath.Join(t.TempDir(), "keys")
		if err := os.WriteFile(path, []byte(strings.Join(o.keys, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := LoadAPIKeys(path)
		if err != nil {
			t.Fatal(err)
		}
		keys = k
	}
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	srv := newServer(reg, serverDeps{classifyTimeout: testClassifyTimeout, current: cur, maxBatch: o.maxBatch, apiKeys: keys, limits: Limits{MaxInFlight: o.maxInFlight, MaxRequestBytes: o.maxRequestBytes},
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	hs := httptest.NewServer(srv.http.Handler)
	t.Cleanup(hs.Close)
	conn := serveBufconn(t, srv)
	return &httpTest{url: hs.URL, reg: reg, grpc: kasuharav1.NewClassifierClient(conn), logs: logs, adm: srv.adm, conn: conn}
}

// syncBuffer is a bytes.Buffer that handlers may log to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// request is one HTTP call in a table.
type request struct {
	method      string // default POST
	path        string
	contentType string // default application/json; "-" sends none
	header      map[string]string
	body        string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (ht *httpTest) do(t *testing.T, rq request) reply {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	req, err := http.NewRequest(rq.method, ht.url+rq.path, strings.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	switch rq.contentType {
	case "":
		req.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		req.Header.Set("Content-Type", rq.contentType)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

// kasuharaError is /v1/classify's error body.
type kasuharaError struct {
	Code    *int    `json:"code"`
	Message *string `json:"message"`
}

// decodeStrict decodes b into v, refusing fields v does not have.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func TestHTTPClassify(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{})
	r := ht.do(t, request{path: "/v1/classify", body: `{"id": "m1", "text": "ｶﾞｯｶﾘだ。殺すぞ"}`})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var resp kasuharav1.ClassifyResponse
	if err := protojson.Unmarshal(r.body, &resp); err != nil {
		t.Fatalf("answer is not a ClassifyResponse: %v\n%s", err, r.body)
	}
	if resp.GetId() != "m1" || resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT || resp.GetScore() != 1 || resp.GetLexiconVersion() == "" {
		t.Errorf("resp = %v", &resp)
	}
	if ms := resp.GetMatches(); len(ms) != 1 || ms[0].GetStart() != 7 || ms[0].GetEnd() != 9 || ms[0].GetText() != "殺す" {
		t.Errorf("matches = %v, want 殺す at [7,9) in code points", ms)
	}
	// The same answer as gRPC gives.
	g, err := ht.grpc.Classify(context.Background(), &kasuharav1.ClassifyRequest{Id: "m1", Text: "ｶﾞｯｶﾘだ。殺すぞ"})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := protojson.Marshal(g); !protoEqualJSON(t, r.body, want) {
		t.Errorf("HTTP answer\n%s\ndiffers from gRPC's\n%s", r.body, want)
	}
}

// protoEqualJSON reports whether two protojson documents hold the same
// ClassifyResponse.
func protoEqualJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y kasuharav1.ClassifyResponse
	if err := protojson.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := protojson.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(&x)
	yb, _ := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(&y)
	return jsonEqual(t, xb, yb)
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

func TestHTTPClassifyAnswersEveryField(t *testing.T) {
	// A routine answer still carries score, categoryScores and matches, so
	// webhook consumers need no defaults.
	ht := startHTTP(t, httpTestOptions{})
	r := ht.do(t, request{path: "/v1/classify", body: `{"text": "発送はいつですか"}`})
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != http.StatusOK {
		t.Fatalf("status %d: %s (%v)", r.status, r.body, err)
	}
	want := map[string]any{"id": "", "label": "LABEL_ROUTINE", "score": 0.0, "categoryScores": map[string]any{}, "matches": []any{}}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestHTTPClassifyBatchKeepsOrder(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{})
	r := ht.do(t, request{path: "/v1/classify:batch", body: `{"requests": [
		{"id": "a", "text": "殺すぞ"}, {"id": "b", "text": "発送はいつですか"}, {"id": "c", "text": "責任者を出してください"}]}`})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp kasuharav1.ClassifyBatchResponse
	if err := protojson.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id    string
		label kasuharav1.Label
	}{{"a", kasuharav1.Label_LABEL_HARASSMENT}, {"b", kasuharav1.Label_LABEL_ROUTINE}, {"c", kasuharav1.Label_LABEL_ESCALATE}}
	if len(resp.GetResponses()) != len(want) {
		t.Fatalf("%d responses, want %d", len(resp.GetResponses()), len(want))
	}
	for i, w := range want {
		if got := resp.GetResponses()[i]; got.GetId() != w.id || got.GetLabel() != w.label {
			t.Errorf("responses[%d] = %s %s, want %s %s", i, got.GetId(), got.GetLabel(), w.id, w.label)
		}
	}
}

func TestHTTPClassifyErrors(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{maxText: 16, maxBatch: 2})
	tests := []struct {
		name     string
		req      request
		status   int
		code     codes.Code
		message  string
		wantHead map[string]string
	}{
		{"GET is 405 and says to POST", request{method: "GET", path: "/v1/classify"},
			405, codes.Unimplemented, "method GET: not allowed, want POST", map[string]string{"Allow": "POST"}},
		{"PUT on the batch route is 405", request{method: "PUT", path: "/v1/classify:batch", body: `{}`},
			405, codes.Unimplemented, "method PUT", nil},
		{"text/plain is 415", request{path: "/v1/classify", contentType: "text/plain", body: `{"text": "a"}`},
			415, codes.InvalidArgument, `Content-Type "text/plain": unsupported, want application/json`, nil},
		{"curl's default form type is 415", request{path: "/v1/classify", contentType: "application/x-www-form-urlencoded", body: `{"text": "a"}`},
			415, codes.InvalidArgument, "want application/json", nil},
		{"JSON in another charset is 415", request{path: "/v1/classify", contentType: "application/json; charset=shift_jis", body: `{"text": "a"}`},
			415, codes.InvalidArgument, "unsupported", nil},
		{"a body over the limit is 413", request{path: "/v1/classify", body: `{"text": "` + strings.Repeat("a", grpcMaxRecvBytes) + `"}`},
			413, codes.ResourceExhausted, "request body: over the limit of 4194304 bytes", nil},
		{"malformed JSON is 400", request{path: "/v1/classify", body: `{"text": `},
			400, codes.InvalidArgument, "request body:", nil},
		{"an unknown field is 400 naming it", request{path: "/v1/classify", body: `{"txt": "殺すぞ"}`},
			400, codes.InvalidArgument, `unknown field "txt"`, nil},
		{"empty text is 400", request{path: "/v1/classify", body: `{"text": ""}`},
			400, codes.InvalidArgument, "text: empty, want some text", nil},
		{"text over --max-text-bytes says got and want", request{path: "/v1/classify", body: `{"text": "あああああア"}`},
			400, codes.InvalidArgument, "text: 18 bytes, want <= 16", nil},
		{"invalid UTF-8 is 400", request{path: "/v1/classify", body: "{\"text\": \"ok\xff\"}"},
			400, codes.InvalidArgument, "request body: invalid UTF-8", nil},
		{"an empty batch is 400", request{path: "/v1/classify:batch", body: `{"requests": []}`},
			400, codes.InvalidArgument, "requests: empty, want 1 or more", nil},
		{"a batch over --max-batch is 400", request{path: "/v1/classify:batch", body: `{"requests": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}`},
			400, codes.InvalidArgument, "requests: 3 items, want <= 2", nil},
		{"a bad batch item is named by index", request{path: "/v1/classify:batch", body: `{"requests": [{"text": "a"}, {"text": " "}]}`},
			400, codes.InvalidArgument, "requests[1].text: empty", nil},
		{"an unknown /v1 path is 404 in JSON", request{path: "/v1/classifyy", body: `{}`},
			404, codes.NotFound, "no route /v1/classifyy", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ht.do(t, tt.req)
			if r.status != tt.status {
				t.Errorf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			var e kasuharaError
			decodeStrict(t, r.body, &e)
			if e.Code == nil || codes.Code(*e.Code) != tt.code || e.Message == nil || !strings.Contains(*e.Message, tt.message) {
				t.Errorf("body %s, want code %d (%s) and a message with %q", r.body, tt.code, tt.code, tt.message)
			}
			for k, v := range tt.wantHead {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHTTPClassifyAcceptsJSONWithoutContentType(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{})
	for _, ct := range []string{"-", "application/json; charset=UTF-8", "Application/JSON"} {
		if r := ht.do(t, request{path: "/v1/classify", contentType: ct, body: `{"text": "殺すぞ"}`}); r.status != http.StatusOK {
			t.Errorf("Content-Type %q: status %d: %s", ct, r.status, r.body)
		}
	}
}

func TestHTTPAnswerMapsCodesInOnePlace(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   codes.Code
	}{
		{"InvalidArgument is 400", status.Error(codes.InvalidArgument, "x"), 400, codes.InvalidArgument},
		{"FailedPrecondition is 400", status.Error(codes.FailedPrecondition, "x"), 400, codes.FailedPrecondition},
		{"Unauthenticated is 401", status.Error(codes.Unauthenticated, "x"), 401, codes.Unauthenticated},
		{"PermissionDenied is 403", status.Error(codes.PermissionDenied, "x"), 403, codes.PermissionDenied},
		{"NotFound is 404", status.Error(codes.NotFound, "x"), 404, codes.NotFound},
		{"ResourceExhausted is 429", status.Error(codes.ResourceExhausted, "x"), 429, codes.ResourceExhausted},
		{"Canceled is 499", status.Error(codes.Canceled, "x"), 499, codes.Canceled},
		{"Internal is 500", status.Error(codes.Internal, "x"), 500, codes.Internal},
		{"Unimplemented is 501", status.Error(codes.Unimplemented, "x"), 501, codes.Unimplemented},
		{"Unavailable is 503", status.Error(codes.Unavailable, "x"), 503, codes.Unavailable},
		{"DeadlineExceeded is 504", status.Error(codes.DeadlineExceeded, "x"), 504, codes.DeadlineExceeded},
		{"an error without a code is 500 Unknown", errors.New("x"), 500, codes.Unknown},
		{"an HTTP error keeps its own status", &httpError{413, codes.ResourceExhausted, "x"}, 413, codes.ResourceExhausted},
		{"a wrapped HTTP error too", errors.Join(errors.New("y"), &httpError{415, codes.InvalidArgument, "x"}), 415, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := httpAnswer(tt.err)
			if got != tt.status || st.Code() != tt.code {
				t.Errorf("httpAnswer = %d %s, want %d %s", got, st.Code(), tt.status, tt.code)
			}
		})
	}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if httpCodes[c].status == 0 || httpCodes[c].name == "" {
			t.Errorf("code %s has no HTTP status or name", c)
		}
	}
	if got := codeName(codes.InvalidArgument); got != "INVALID_ARGUMENT" {
		t.Errorf("codeName(InvalidArgument) = %q", got)
	}
}

func TestHTTPAPIKeys(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{keys: []string{"# ops", "k-ops", "", "k-web"}})
	classify := `{"text": "殺すぞ"}`
	analyze := `{"comment": {"text": "殺すぞ"}, "requestedAttributes": {"TOXICITY": {}}}`
	moderate := `{"input": "殺すぞ"}`
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"classify without a key is 401", request{path: "/v1/classify", body: classify}, 401},
		{"classify with an unknown key is 401", request{path: "/v1/classify", body: classify, header: map[string]string{"Authorization": "Bearer nope"}}, 401},
		{"classify with a listed key", request{path: "/v1/classify", body: classify, header: map[string]string{"Authorization": "Bearer k-ops"}}, 200},
		{"batch with another listed key", request{path: "/v1/classify:batch", body: `{"requests": [` + classify + `]}`, header: map[string]string{"Authorization": "Bearer k-web"}}, 200},
		{"the Bearer scheme in lower case", request{path: "/v1/classify", body: classify, header: map[string]string{"Authorization": "bearer k-ops"}}, 200},
		{"the Bearer scheme in upper case", request{path: "/v1/moderations", body: moderate, header: map[string]string{"Authorization": "BEARER k-web"}}, 200},
		{"a key without a scheme is no key", request{path: "/v1/classify", body: classify, header: map[string]string{"Authorization": "k-ops"}}, 401},
		{"a comment line is no key", request{path: "/v1/classify", body: classify, header: map[string]string{"Authorization": "Bearer # ops"}}, 401},
		{"Perspective without ?key is 400, as Google answers", request{path: "/v1alpha1/comments:analyze", body: analyze}, 400},
		{"Perspective with a wrong ?key", request{path: "/v1alpha1/comments:analyze?key=nope", body: analyze}, 400},
		{"Perspective with ?key", request{path: "/v1alpha1/comments:analyze?key=k-ops", body: analyze}, 200},
		{"Perspective with X-Goog-Api-Key", request{path: "/v1alpha1/comments:analyze", body: analyze, header: map[string]string{"X-Goog-Api-Key": "k-web"}}, 200},
		{"moderations without a key is 401", request{path: "/v1/moderations", body: moderate}, 401},
		{"moderations with a Bearer key", request{path: "/v1/moderations", body: moderate, header: map[string]string{"Authorization": "Bearer k-web"}}, 200},
		{"metrics need no key", request{method: "GET", path: "/metrics"}, 200},
		{"healthz needs no key", request{method: "GET", path: "/healthz"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := ht.do(t, tt.req); r.status != tt.status {
				t.Errorf("status %d, want %d: %.300s", r.status, tt.status, r.body)
			}
		})
	}
}

func TestLoadAPIKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k, err := LoadAPIKeys(write("keys", "# comment\n\n  alpha  \r\nbeta\n"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"alpha": true, "beta": true, "gamma": false, "": false, "# comment": false, "  alpha  ": false} {
		if got := k.accepts(key); got != want {
			t.Errorf("accepts(%q) = %v, want %v", key, got, want)
		}
	}
	if k, err := LoadAPIKeys(""); err != nil || !k.accepts("anything") || !k.accepts("") {
		t.Errorf("no file: %v, %v; want every key accepted", k, err)
	}
	if _, err := LoadAPIKeys(write("empty", "# only comments\n\n")); err == nil || !strings.Contains(err.Error(), "no keys") {
		t.Errorf("a file without keys: err = %v, want one saying so", err)
	}
	if _, err := LoadAPIKeys(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: err = %v, want fs.ErrNotExist", err)
	}
}

func TestHTTPMetricsAreSharedWithGRPC(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{})
	secret := "秘密の顧客テキスト殺すぞ"
	for _, rq := range []request{
		{path: "/v1/classify", body: `{"id": "cust-42", "text": "` + secret + `"}`},
		{path: "/v1/classify:batch", body: `{"requests": [{"id": "cust-42", "text": "` + secret + `"}, {"text": "発送はいつですか"}]}`},
		{path: "/v1alpha1/comments:analyze", body: `{"comment": {"text": "` + secret + `"}, "requestedAttributes": {"THREAT": {}}}`},
		{path: "/v1/moderations", body: `{"input": ["` + secret + `"]}`},
		{path: "/v1/classify", body: `{"text": ""}`},
		{path: "/v1/classify", contentType: "text/plain", body: secret},
	} {
		ht.do(t, rq)
	}
	if _, err := ht.grpc.Classify(context.Background(), &kasuharav1.ClassifyRequest{Text: secret}); err != nil {
		t.Fatal(err)
	}
	mfs, err := ht.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// find returns the value of a counter, or the sample count of a histogram.
	find := func(name string, labels map[string]string) float64 {
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		next:
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
						continue next
					}
				}
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	counts := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		// Four HTTP answers and one gRPC answer, one counter.
		{"kasuhara_classify_messages_total", map[string]string{"label": "harassment"}, 5},
		{"kasuhara_classify_messages_total", map[string]string{"label": "routine"}, 1},
		{"kasuhara_classify_rejected_total", map[string]string{"reason": "empty"}, 1},
		{"kasuhara_http_requests_total", map[string]string{"route": "/v1/classify", "code": "200"}, 1},
		{"kasuhara_http_requests_total", map[string]string{"route": "/v1/classify", "code": "400"}, 1},
		{"kasuhara_http_requests_total", map[string]string{"route": "/v1/classify", "code": "415"}, 1},
		{"kasuhara_http_requests_total", map[string]string{"route": "/v1/classify:batch", "code": "200"}, 1},
		{"kasuhara_http_requests_total", map[string]string{"route": "/v1alpha1/comments:analyze", "code": "200"}, 1},
		{"kasuhara_http_requests_total", map[string]string{"route": "/v1/moderations", "code": "200"}, 1},
	}
	for _, c := range counts {
		if got := find(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := find("kasuhara_http_request_duration_seconds", map[string]string{"route": "/v1/classify", "code": "200"}); n != 1 {
		t.Errorf("duration histogram count = %v, want 1", n)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); v != "" && strings.Contains(secret, v) || v == "cust-42" {
					t.Errorf("%s has label %s=%q from a request", mf.GetName(), l.GetName(), v)
				}
			}
		}
	}
	logs := ht.logs.String()
	if !strings.Contains(logs, `msg="http request" route=/v1/classify code=200`) {
		t.Errorf("debug log lacks the request line:\n%s", logs)
	}
	if strings.Contains(logs, "殺す") || strings.Contains(logs, "秘密") || strings.Contains(logs, "cust-42") {
		t.Errorf("log carries request content:\n%s", logs)
	}
}

func TestHTTPPanicIsAnsweredInternal(t *testing.T) {
	logs := &syncBuffer{}
	a := newHTTPAPI(httpDeps{
		cs:  &classifierServer{log: slog.New(slog.NewTextHandler(logs, nil))},
		reg: prometheus.NewRegistry(),
	})
	h := a.instrument("test", &kasuharaStyle, func(http.ResponseWriter, *http.Request) error {
		panic("bad token 殺す") // a panic value may hold text; it must not reach the log
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/test", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	var e kasuharaError
	decodeStrict(t, rec.Body.Bytes(), &e)
	if e.Code == nil || codes.Code(*e.Code) != codes.Internal || *e.Message != "internal error" {
		t.Errorf("body %s, want Internal", rec.Body)
	}
	if l := logs.String(); !strings.Contains(l, "panic in HTTP handler") || strings.Contains(l, "殺す") {
		t.Errorf("log %q: want the panic noted without its text", l)
	}
	if got := testutil.ToFloat64(a.requests.WithLabelValues("test", "500")); got != 1 {
		t.Errorf("requests{test,500} = %v, want 1", got)
	}
}

func TestUTF16Offsets(t *testing.T) {
	// 😀 is one code point and two UTF-16 code units; ｶ and ﾞ are one each.
	got := utf16Offsets("a😀殺ﾞ")
	want := []int{0, 1, 3, 4, 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("utf16Offsets = %v, want %v", got, want)
	}
}

// goldenCase is a request in testdata/http/NAME.request.json whose answer
// must be testdata/http/NAME.response.json, after normalise.
type goldenCase struct {
	name   string
	path   string
	status int
}

// runGolden posts each case's request and compares the answer with its
// golden response; -update rewrites the responses instead.
func runGolden(t *testing.T, ht *httpTest, cases []goldenCase, normalise func(t *testing.T, v any)) {
	t.Helper()
	for _, gc := range cases {
		t.Run(gc.name, func(t *testing.T) {
			reqBody, err := os.ReadFile(filepath.Join("testdata/http", gc.name+".request.json"))
			if err != nil {
				t.Fatal(err)
			}
			r := ht.do(t, request{path: gc.path, body: string(reqBody)})
			if r.status != gc.status {
				t.Errorf("status %d, want %d: %s", r.status, gc.status, r.body)
			}
			var got any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("answer is not JSON: %v\n%s", err, r.body)
			}
			normalise(t, got)
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata/http", gc.name+".response.json")
			if *update {
				if err := os.WriteFile(file, append(gotJSON, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, gotJSON, want) {
				t.Errorf("answer differs from %s:\n got: %s\nwant: %s", file, gotJSON, want)
			}
		})
	}
}

// TestHTTPOverloadIsRefusedAtOnce: HTTP API requests share --max-in-flight
// with gRPC calls. With the only slot held by a call being classified,
// every route answers 429 at once, with Retry-After and in its own API's
// error shape; once the call ends, HTTP requests are served again.
func TestHTTPOverloadIsRefusedAtOnce(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{maxInFlight: 1})
	release := holdSlots(t, ht.adm, 1)
	for _, rq := range []request{
		{path: routeClassify, body: `{"text":"こんにちは"}`},
		{path: routeClassifyBatch, body: `{"requests":[{"text":"こんにちは"}]}`},
		{path: routePerspective, body: `{"comment":{"text":"こんにちは"},"requestedAttributes":{"TOXICITY":{}}}`},
		{path: routeModerations, body: `{"input":"こんにちは"}`},
	} {
		r := ht.do(t, rq)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
			t.Errorf("%s: status %d, Retry-After %q; want 429 and 1", rq.path, r.status, r.header.Get("Retry-After"))
		}
		if !strings.Contains(string(r.body), "server overloaded") {
			t.Errorf("%s: body %s, want the overload message", rq.path, r.body)
		}
	}
	var e kasuharaError
	decodeStrict(t, ht.do(t, request{path: routeClassify, body: `{"text":"x"}`}).body, &e)
	if e.Code == nil || codes.Code(*e.Code) != codes.ResourceExhausted {
		t.Errorf("/v1/classify error code %v, want RESOURCE_EXHAUSTED", e.Code)
	}
	release()
	if r := ht.do(t, request{path: routeClassify, body: `{"text":"こんにちは"}`}); r.status != http.StatusOK {
		t.Errorf("after the call ended: status %d %s, want 200", r.status, r.body)
	}
	if v, _ := metricValue(t, ht.reg, "kasuhara_grpc_calls_in_flight", nil); v != 0 {
		t.Errorf("calls in flight %v after every request ended, want 0", v)
	}
}

// TestHTTPStalledBodyHoldsNoSlot: a client that sends headers and stalls
// its body holds no --max-in-flight slot, so gRPC calls are still served.
func TestHTTPStalledBodyHoldsNoSlot(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{maxInFlight: 2})
	for range 2 {
		c, err := net.Dial("tcp", strings.TrimPrefix(ht.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(30*time.Second, func() bool { return len(goroutinesIn("(*httpAPI).admit")) == 2 }) {
		t.Fatal("the two handlers were not reading their bodies within 30s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ht.grpc.Classify(ctx, &kasuharav1.ClassifyRequest{Text: "こんにちは"}); err != nil {
		t.Errorf("gRPC call while two HTTP clients stall their bodies: %v", err)
	}
}

// smallBufferListener gives every accepted connection a small send buffer,
// so that a response larger than a few KB blocks until its client reads.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// TestHTTPClientThatDoesNotReadLosesItsSlotAndAnswer: clients that send a
// request and never read the answer hold no --max-in-flight slot once their
// message is classified, and after the write timeout the server drops the
// connection and the answer it was holding. (The server used to hold the
// slot while writing, with no write timeout: ten such clients held ten
// slots, and their answers, for as long as they stayed connected.)
func TestHTTPClientThatDoesNotReadLosesItsSlotAndAnswer(t *testing.T) {
	const limit, clients = 2, 4
	cur := loadCurrent(t, "testdata/lexicon", 8192)
	reg := prometheus.NewRegistry()
	srv := newServer(reg, serverDeps{classifyTimeout: testClassifyTimeout, current: cur, maxBatch: 8, limits: Limits{MaxInFlight: limit},
		httpWriteTimeout: 500 * time.Millisecond, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.http.Serve(smallBufferListener{lis})
	t.Cleanup(func() { srv.http.Close() })
	grpcClient := kasuharav1.NewClassifierClient(serveBufconn(t, srv))

	// Each answer lists 680 matches: over 80 KB, far more than the
	// two sockets' buffers hold.
	body, err := json.Marshal(map[string]string{"text": strings.Repeat("殺すぞ。", 8192/len("殺すぞ。"))})
	if err != nil {
		t.Fatal(err)
	}
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
	}}
	classified := func() float64 {
		v, _ := metricValue(t, reg, "kasuhara_classify_messages_total", nil)
		return v
	}
	inFlight := func() float64 {
		v, _ := metricValue(t, reg, "kasuhara_grpc_calls_in_flight", nil)
		return v
	}
	for i := range clients {
		c, err := dialer.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		// Served, and its slot given back, though it reads nothing: the
		// next client finds every slot free (its message is counted just
		// before its slot is given back, so wait for both).
		if !waitFor(30*time.Second, func() bool { return classified() == float64(i+1) && inFlight() == 0 }) {
			t.Fatalf("client %d of %d was not served and its slot given back (%v messages classified, %v in flight): the clients so far, which read nothing, hold the %d slots",
				i+1, clients, classified(), inFlight(), limit)
		}
	}
	if _, err := grpcClient.Classify(context.Background(), &kasuharav1.ClassifyRequest{Text: "こんにちは"}); err != nil {
		t.Errorf("gRPC call while %d HTTP clients do not read: %v", clients, err)
	}
	// The writes time out and the handlers return, dropping the answers.
	answered := func() bool {
		v, _ := metricValue(t, reg, "kasuhara_http_requests_total", map[string]string{"route": routeClassify})
		return v == clients
	}
	if !waitFor(20*time.Second, answered) {
		t.Errorf("the server still writes to clients that do not read, 20s after a 500ms write timeout")
	}
}

// TestHTTPRequestPastTheByteBudgetIsRefusedUnread: a request whose
// Content-Length would take the bytes held past --max-request-bytes is
// answered 429 before its body is read; the room comes back once an answer
// is written. (Bodies used to be read whatever their number.)
func TestHTTPRequestPastTheByteBudgetIsRefusedUnread(t *testing.T) {
	const budget = 1 << 20
	ht := startHTTP(t, httpTestOptions{maxRequestBytes: budget})
	// A client announces a body that fills the budget, and sends none of it.
	c, err := net.Dial("tcp", strings.TrimPrefix(ht.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", budget)
	if !waitFor(10*time.Second, func() bool {
		v, _ := metricValue(t, ht.reg, "kasuhara_request_held_bytes", nil)
		return v == budget
	}) {
		t.Fatal("the stalled request does not hold the budget")
	}
	done := make(chan reply, 1)
	go func() { done <- ht.do(t, request{path: routeClassify, body: `{"text":"こんにちは"}`}) }()
	select {
	case r := <-done:
		if r.status != http.StatusTooManyRequests || !strings.Contains(string(r.body), "--max-request-bytes") || r.header.Get("Retry-After") != "1" {
			t.Errorf("past the budget: %d %s, want 429 naming --max-request-bytes with Retry-After", r.status, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request past the budget was not refused within 10s")
	}
	if v, _ := metricValue(t, ht.reg, "kasuhara_request_bytes_rejected_total", nil); v != 1 {
		t.Errorf("kasuhara_request_bytes_rejected_total = %v, want 1", v)
	}
	c.Close() // the stalled request ends, and gives its room back
	if !waitFor(10*time.Second, func() bool {
		v, _ := metricValue(t, ht.reg, "kasuhara_request_held_bytes", nil)
		return v == 0
	}) {
		t.Fatal("the ended request still holds the budget")
	}
	if r := ht.do(t, request{path: routeClassify, body: `{"text":"こんにちは"}`}); r.status != http.StatusOK {
		t.Errorf("with room again: %d %s", r.status, r.body)
	}
}
