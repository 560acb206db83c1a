package server

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

type testServer struct {
	srv  *server
	reg  *prometheus.Registry
	conn *grpc.ClientConn
	c    kasuharav1.ClassifierClient
}

// startBufconn serves the testdata lexicon over an in-memory connection.
func startBufconn(t *testing.T, maxText, maxBatch int) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	srv := newServer(reg, serverDeps{classifyTimeout: testClassifyTimeout, current: loadCurrent(t, "testdata/lexicon", maxText), maxBatch: maxBatch,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	conn := serveBufconn(t, srv)
	return &testServer{srv: srv, reg: reg, conn: conn, c: kasuharav1.NewClassifierClient(conn)}
}

func TestGRPCClassify(t *testing.T) {
	ts := startBufconn(t, 1024, 4)
	ctx := context.Background()
	resp, err := ts.c.Classify(ctx, &kasuharav1.ClassifyRequest{Id: "m1", Text: "ｶﾞｯｶﾘだ。殺すぞ"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetId() != "m1" || resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT || resp.GetScore() != 1 {
		t.Errorf("resp = %v", resp)
	}
	if len(resp.GetMatches()) != 1 {
		t.Fatalf("matches = %v", resp.GetMatches())
	}
	m := resp.GetMatches()[0]
	// ｶﾞｯｶﾘだ。 is 7 code points in the request (ｶ and ﾞ are two).
	if m.GetStart() != 7 || m.GetEnd() != 9 || m.GetText() != "殺す" || m.GetCategory() != "threat" || m.GetEntry() != "殺す" {
		t.Errorf("match = %v, want 殺す at [7,9)", m)
	}
	if resp.GetLexiconVersion() == "" || resp.GetCategoryScores()["threat"] != 1 {
		t.Errorf("version %q, category scores %v", resp.GetLexiconVersion(), resp.GetCategoryScores())
	}
	if got := testutil.ToFloat64(ts.srvMetric(t, "harassment")); got != 1 {
		t.Errorf("harassment counter = %v, want 1", got)
	}
}

// srvMetric returns the messages counter for label.
func (ts *testServer) srvMetric(t *testing.T, label string) prometheus.Collector {
	t.Helper()
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "kasuhara_classify_messages_total" {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == label {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no kasuhara_classify_messages_total{label=%q}", label)
	return nil
}

func TestGRPCInvalidArgument(t *testing.T) {
	ts := startBufconn(t, 16, 2)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"empty text", func() error { _, err := ts.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: ""}); return err }, "text: empty"},
		{"text over the limit says got and want", func() error {
			_, err := ts.c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: strings.Repeat("あ", 6)})
			return err
		}, "text: 18 bytes, want <= 16"},
		{"empty batch", func() error { _, err := ts.c.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{}); return err }, "requests: empty"},
		{"batch over the limit", func() error {
			_, err := ts.c.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{Requests: []*kasuharav1.ClassifyRequest{{Text: "a"}, {Text: "b"}, {Text: "c"}}})
			return err
		}, "requests: 3 items, want <= 2"},
		{"batch item names its index", func() error {
			_, err := ts.c.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{Requests: []*kasuharav1.ClassifyRequest{{Text: "a"}, {Text: " "}}})
			return err
		}, "requests[1].text: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.want) {
				t.Errorf("err = %v, want InvalidArgument %q", err, tt.want)
			}
		})
	}
}

// TestGRPCInvalidUTF8IsRejected: a request whose text is not UTF-8 (the Go
// client refuses to send one; raw bytes go through a message whose text
// field is declared bytes) is refused with README's code and message, by
// grpc-go while decoding it, and counted as invalid_utf8. (It used to be
// refused before any kasuhara code ran, and not counted.)
func TestGRPCInvalidUTF8IsRejected(t *testing.T) {
	ts := startBufconn(t, 1024, 2)
	const want = "grpc: failed to unmarshal the received message: string field contains invalid UTF-8"
	var out kasuharav1.ClassifyResponse
	err := ts.conn.Invoke(context.Background(), "/kasuhara.v1.Classifier/Classify", rawRequest{text: []byte("ok\xff")}, &out, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.Internal || status.Convert(err).Message() != want {
		t.Errorf("Classify: %v, want Internal %q", err, want)
	}
	s, err := ts.conn.NewStream(context.Background(), &kasuharav1.Classifier_ServiceDesc.Streams[0], "/kasuhara.v1.Classifier/ClassifyStream", grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(rawRequest{text: []byte("ok\xff")}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecvMsg(&out); status.Code(err) != codes.Internal || status.Convert(err).Message() != want {
		t.Errorf("ClassifyStream: %v, want Internal %q", err, want)
	}
	// grpc-go writes the status of a request it cannot decode itself, so the
	// client may hold it before the handler has counted it: wait for the
	// count, a bounded while.
	count := func() float64 {
		v, _ := metricValue(t, ts.reg, "kasuhara_classify_rejected_total", map[string]string{"reason": "invalid_utf8"})
		return v
	}
	if !waitFor(5*time.Second, func() bool { return count() >= 2 }) || count() != 2 {
		t.Errorf("kasuhara_classify_rejected_total{reason=invalid_utf8} = %v, want 2", count())
	}
}

func TestGRPCBatchAndStreamKeepOrder(t *testing.T) {
	ts := startBufconn(t, 1024, 8)
	ctx := context.Background()
	texts := []string{"殺すぞ", "発送はいつですか", "責任者を出してください"}
	wantLabels := []kasuharav1.Label{kasuharav1.Label_LABEL_HARASSMENT, kasuharav1.Label_LABEL_ROUTINE, kasuharav1.Label_LABEL_ESCALATE}
	var reqs []*kasuharav1.ClassifyRequest
	for i, tx := range texts {
		reqs = append(reqs, &kasuharav1.ClassifyRequest{Id: string(rune('a' + i)), Text: tx})
	}
	batch, err := ts.c.ClassifyBatch(ctx, &kasuharav1.ClassifyBatchRequest{Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(batch.GetResponses()); n != len(reqs) {
		t.Fatalf("batch of %d answered with %d responses", len(reqs), n)
	}
	for i, r := range batch.GetResponses() {
		if r.GetId() != reqs[i].GetId() || r.GetLabel() != wantLabels[i] {
			t.Errorf("batch[%d] = %s %s, want %s %s", i, r.GetId(), r.GetLabel(), reqs[i].GetId(), wantLabels[i])
		}
	}

	stream, err := ts.c.ClassifyStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range reqs {
		r, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r.GetId() != reqs[i].GetId() || r.GetLabel() != wantLabels[i] {
			t.Errorf("stream[%d] = %s %s", i, r.GetId(), r.GetLabel())
		}
	}
	// An invalid message ends the stream naming its id.
	if err := stream.Send(&kasuharav1.ClassifyRequest{Id: "bad", Text: ""}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `request id "bad": text: empty`) {
		t.Errorf("stream err = %v", err)
	}
}

func TestGRPCHealthAndReflection(t *testing.T) {
	ts := startBufconn(t, 1024, 2)
	ctx := context.Background()
	for _, svc := range []string{"", "kasuhara.v1.Classifier"} {
		resp, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health(%q) = %v, %v", svc, resp, err)
		}
	}
	rc, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, " "), "kasuhara.v1.Classifier") {
		t.Errorf("reflection lists %v", names)
	}
	ts.srv.health.Shutdown()
	resp2, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp2.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("after shutdown health = %v, %v", resp2, err)
	}
}

func TestMetricsNeverCarryText(t *testing.T) {
	ts := startBufconn(t, 1024, 2)
	secret := "秘密の顧客テキスト殺すぞ"
	if _, err := ts.c.Classify(context.Background(), &kasuharav1.ClassifyRequest{Id: "cust-42", Text: secret}); err != nil {
		t.Fatal(err)
	}
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(secret, l.GetValue()) && l.GetValue() != "" || l.GetValue() == "cust-42" {
					t.Errorf("%s has label %s=%q from the request", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	for _, want := range []string{"kasuhara_classify_messages_total", "kasuhara_classify_duration_seconds", "kasuhara_lexicon_entries",
		"kasuhara_lexicon_info", "kasuhara_build_info", "grpc_server_handled_total", "grpc_server_handling_seconds"} {
		if !names[want] {
			t.Errorf("metric %s not registered", want)
		}
	}
}
