package server

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	commentanalyzer "google.golang.org/api/commentanalyzer/v1alpha1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// TestPerspectiveGoogleClient points Google's generated Go client for
// Perspective API at kasuhara, as README.md's "Switching from Perspective
// API" says a client switches: the same client, the same request and the
// same parsing, with kasuhara's URL in place of
// https://commentanalyzer.googleapis.com.
//
// The client is built as a real one is, with an endpoint and an API key and
// no HTTP client of its own: given option.WithHTTPClient, the client library
// uses that client as it is and drops the key, so the request would carry no
// ?key= and this server, which requires one, would refuse it.
func TestPerspectiveGoogleClient(t *testing.T) {
	const key = "test-key"
	ht := startHTTP(t, httpTestOptions{lexicon: mappingLexicon, keys: []string{key}})
	ctx := t.Context()
	newClient := func(t *testing.T, key string) *commentanalyzer.Service {
		t.Helper()
		// The generated client resolves "v1alpha1/comments:analyze" against
		// its endpoint, which therefore ends in a slash, as its default
		// https://commentanalyzer.googleapis.com/ does.
		svc, err := commentanalyzer.NewService(ctx, option.WithEndpoint(ht.url+"/"), option.WithAPIKey(key))
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := newClient(t, key)
	analyzeRequest := func(text string) *commentanalyzer.AnalyzeCommentRequest {
		return &commentanalyzer.AnalyzeCommentRequest{
			Comment:             &commentanalyzer.TextEntry{Text: text},
			Languages:           []string{"ja"},
			RequestedAttributes: map[string]commentanalyzer.AttributeParameters{"TOXICITY": {}, "THREAT": {}},
			SpanAnnotations:     true,
			DoNotStore:          true,
			ClientToken:         "ticket-1042",
		}
	}
	// span and attr are what the client parsed, written so a failure reads
	// as the response did.
	type span struct {
		Begin, End int64
		Value      float64
		Type       string
	}
	type attr struct {
		Value float64
		Type  string
		Spans []span
	}
	parsed := func(t *testing.T, resp *commentanalyzer.AnalyzeCommentResponse) map[string]attr {
		t.Helper()
		out := map[string]attr{}
		for name, a := range resp.AttributeScores {
			if a.SummaryScore == nil {
				t.Fatalf("%s: no summaryScore", name)
			}
			got := attr{Value: a.SummaryScore.Value, Type: a.SummaryScore.Type}
			for _, sp := range a.SpanScores {
				if sp.Score == nil {
					t.Fatalf("%s: span [%d,%d) has no score", name, sp.Begin, sp.End)
				}
				got.Spans = append(got.Spans, span{sp.Begin, sp.End, sp.Score.Value, sp.Score.Type})
			}
			out[name] = got
		}
		return out
	}
	// same compares scores to within float rounding, everything else exactly.
	same := func(got, want map[string]attr) bool {
		near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }
		if len(got) != len(want) {
			return false
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok || !near(g.Value, w.Value) || g.Type != w.Type || len(g.Spans) != len(w.Spans) {
				return false
			}
			for i := range w.Spans {
				gs, ws := g.Spans[i], w.Spans[i]
				if gs.Begin != ws.Begin || gs.End != ws.End || !near(gs.Value, ws.Value) || gs.Type != ws.Type {
					return false
				}
			}
		}
		return true
	}
	// fromServer is what kasuhara answers the same request body over plain
	// HTTP, read into perspective_test.go's documented shape rather than
	// the client's types.
	fromServer := func(t *testing.T, req *commentanalyzer.AnalyzeCommentRequest) map[string]attr {
		t.Helper()
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		r := ht.do(t, request{path: routePerspective, body: string(body), header: map[string]string{"X-Goog-Api-Key": key}})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var resp perspectiveResponseDoc
		decodeStrict(t, r.body, &resp)
		out := map[string]attr{}
		for name, a := range resp.AttributeScores {
			if a.SummaryScore == nil || a.SummaryScore.Value == nil {
				t.Fatalf("%s: no summaryScore in %s", name, r.body)
			}
			got := attr{Value: *a.SummaryScore.Value, Type: a.SummaryScore.Type}
			for _, sp := range a.SpanScores {
				if sp.Begin == nil || sp.End == nil || sp.Score == nil || sp.Score.Value == nil {
					t.Fatalf("%s: incomplete span in %s", name, r.body)
				}
				got.Spans = append(got.Spans, span{int64(*sp.Begin), int64(*sp.End), *sp.Score.Value, sp.Score.Type})
			}
			out[name] = got
		}
		return out
	}

	tests := []struct {
		name string
		text string
		want map[string]attr
	}{
		// README.md's example (the golden perspective-analyze): abuse 無能
		// .7 at UTF-16 [0,2); exposure 晒す at [12,14), .5 raised to .75 by
		// the intent ending からな; TOXICITY their noisy-OR, .925.
		{"a Japanese threat", "無能な担当者だ。ネットに晒すからな", map[string]attr{
			"TOXICITY": {.925, "PROBABILITY", []span{{0, 2, .7, "PROBABILITY"}, {12, 14, .75, "PROBABILITY"}}},
			"THREAT":   {.75, "PROBABILITY", []span{{12, 14, .75, "PROBABILITY"}}},
		}},
		// A routine request: both attributes answered, scored 0, no spans.
		{"a routine message", "お世話になっております。注文した商品の配送状況を教えてください。", map[string]attr{
			"TOXICITY": {0, "PROBABILITY", nil},
			"THREAT":   {0, "PROBABILITY", nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := analyzeRequest(tt.text)
			before := routeCount(t, ht, routePerspective, "200")
			resp, err := svc.Comments.Analyze(req).Context(ctx).Do()
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			// The client's request reached the Perspective route, not
			// another path's 404.
			if n := routeCount(t, ht, routePerspective, "200") - before; n != 1 {
				t.Errorf("%s answered 200 %v times for the call, want 1", routePerspective, n)
			}
			if resp.HTTPStatusCode != http.StatusOK {
				t.Errorf("HTTP status %d, want 200", resp.HTTPStatusCode)
			}
			got := parsed(t, resp)
			if !same(got, tt.want) {
				t.Errorf("attributeScores as the client parsed them:\n got %+v\nwant %+v", got, tt.want)
			}
			if server := fromServer(t, req); !same(got, server) {
				t.Errorf("the client parsed %+v, but kasuhara answered %+v", got, server)
			}
			if !reflect.DeepEqual(resp.Languages, []string{"ja"}) {
				t.Errorf("languages = %q, want [ja]", resp.Languages)
			}
			if resp.ClientToken != "ticket-1042" {
				t.Errorf("clientToken = %q, want ticket-1042", resp.ClientToken)
			}
			if resp.DetectedLanguages != nil {
				t.Errorf("detectedLanguages = %q, want none (kasuhara does not send it)", resp.DetectedLanguages)
			}
		})
	}

	t.Run("an unsupported attribute is a googleapi.Error 400", func(t *testing.T) {
		req := analyzeRequest("殺すぞ")
		req.RequestedAttributes["ATTACK_ON_AUTHOR"] = commentanalyzer.AttributeParameters{}
		resp, err := svc.Comments.Analyze(req).Context(ctx).Do()
		checkGoogleError(t, resp, err, "INVALID_ARGUMENT", "requestedAttributes: attribute ATTACK_ON_AUTHOR: not supported by kasuhara")
	})

	t.Run("a key the server does not list is a googleapi.Error 400", func(t *testing.T) {
		resp, err := newClient(t, "not-"+key).Comments.Analyze(analyzeRequest("殺すぞ")).Context(ctx).Do()
		checkGoogleError(t, resp, err, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
	})
}

// checkGoogleError checks that the client turned kasuhara's error into a
// *googleapi.Error as it does Google's: code 400, the message parsed from
// the body, and the body in Google's shape with grpcStatus.
func checkGoogleError(t *testing.T, resp *commentanalyzer.AnalyzeCommentResponse, err error, grpcStatus, message string) {
	t.Helper()
	if resp != nil {
		t.Errorf("response %+v, want none", resp)
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		t.Fatalf("err = %v (%T), want a *googleapi.Error", err, err)
	}
	if gerr.Code != http.StatusBadRequest {
		t.Errorf("Code = %d, want 400: %v", gerr.Code, gerr)
	}
	if !strings.Contains(gerr.Message, message) {
		t.Errorf("Message = %q, want it to hold %q", gerr.Message, message)
	}
	var body googleErrorDoc
	decodeStrict(t, []byte(gerr.Body), &body)
	if body.Error == nil || body.Error.Code != http.StatusBadRequest || body.Error.Status != grpcStatus {
		t.Errorf("body %s, want {\"error\": {\"code\": 400, \"status\": %q, ...}}", gerr.Body, grpcStatus)
	}
}

// routeCount is kasuhara_http_requests_total for route and code.
func routeCount(t *testing.T, ht *httpTest, route, code string) float64 {
	t.Helper()
	mfs, err := ht.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kasuhara_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
