package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinaryServesHTTPAPI builds the real binary, serves the testdata
// lexicon with an API key file on loopback ports, calls /v1/classify,
// /v1alpha1/comments:analyze and /v1/moderations with a plain HTTP client,
// scrapes the metrics, and stops it with SIGTERM, which must exit 0. The
// debug log must hold no message text.
func TestBinaryServesHTTPAPI(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte("# helpdesk\nk-helpdesk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--lexicon", "testdata/lexicon", "--api-key-file", keyFile,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "",
		"--log-level", "debug", "--shutdown-timeout", "5s")
	base := "http://" + s.httpAddr
	client := &http.Client{Timeout: 30 * time.Second}

	post := func(path, key, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}

	secret := "お前の顔は覚えた。殺すぞ"
	code, body := post("/v1/classify", "k-helpdesk", `{"id": "ticket-9", "text": "`+secret+`"}`)
	var classified struct {
		ID      string `json:"id"`
		Label   string `json:"label"`
		Matches []struct {
			Start, End int
		} `json:"matches"`
	}
	if err := json.Unmarshal(body, &classified); err != nil || code != 200 || classified.ID != "ticket-9" || classified.Label != "LABEL_HARASSMENT" ||
		len(classified.Matches) != 1 || classified.Matches[0].Start != 9 || classified.Matches[0].End != 11 {
		t.Errorf("/v1/classify: %d %s", code, body)
	}

	code, body = post("/v1alpha1/comments:analyze?key=k-helpdesk", "",
		`{"comment": {"text": "`+secret+`"}, "languages": ["ja"], "requestedAttributes": {"TOXICITY": {}, "THREAT": {}}, "spanAnnotations": true, "doNotStore": true}`)
	var analyzed struct {
		AttributeScores map[string]struct {
			SummaryScore struct{ Value float64 }    `json:"summaryScore"`
			SpanScores   []struct{ Begin, End int } `json:"spanScores"`
		} `json:"attributeScores"`
		Languages []string `json:"languages"`
	}
	if err := json.Unmarshal(body, &analyzed); err != nil || code != 200 || analyzed.AttributeScores["THREAT"].SummaryScore.Value != 1 ||
		len(analyzed.AttributeScores["THREAT"].SpanScores) != 1 || analyzed.AttributeScores["THREAT"].SpanScores[0].Begin != 9 ||
		len(analyzed.Languages) != 1 || analyzed.Languages[0] != "ja" {
		t.Errorf("/v1alpha1/comments:analyze: %d %s", code, body)
	}

	code, body = post("/v1/moderations", "k-helpdesk", `{"model": "omni-moderation-latest", "input": ["`+secret+`", "責任者を出してください"]}`)
	var moderated struct {
		Results []struct {
			Flagged    bool            `json:"flagged"`
			Categories map[string]bool `json:"categories"`
			Kasuhara   struct {
				Label string `json:"label"`
			} `json:"kasuhara"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &moderated); err != nil || code != 200 || len(moderated.Results) != 2 ||
		!moderated.Results[0].Flagged || !moderated.Results[0].Categories["harassment"] ||
		moderated.Results[1].Flagged || moderated.Results[1].Kasuhara.Label != "LABEL_ESCALATE" {
		t.Errorf("/v1/moderations: %d %s", code, body)
	}

	// A key the file does not list, and a request that is not JSON.
	if code, body := post("/v1/moderations", "k-stolen", `{"input": "a"}`); code != 401 || !strings.Contains(string(body), `"invalid_api_key"`) {
		t.Errorf("unknown key: %d %s", code, body)
	}
	if code, body := post("/v1/classify", "k-helpdesk", `text=`+secret); code != 400 || !strings.Contains(string(body), `"code":3`) {
		t.Errorf("not JSON: %d %s", code, body)
	}

	mresp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{
		`kasuhara_classify_messages_total{label="harassment"} 3`,
		`kasuhara_classify_messages_total{label="escalate"} 1`,
		`kasuhara_http_requests_total{code="200",route="/v1/classify"} 1`,
		`kasuhara_http_requests_total{code="200",route="/v1alpha1/comments:analyze"} 1`,
		`kasuhara_http_requests_total{code="200",route="/v1/moderations"} 1`,
		`kasuhara_http_requests_total{code="401",route="/v1/moderations"} 1`,
		`kasuhara_http_requests_total{code="400",route="/v1/classify"} 1`,
		`kasuhara_http_request_duration_seconds_count{code="200",route="/v1/classify"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	logText := s.stop(t)
	if !strings.Contains(logText, `msg="http request" route=/v1/moderations code=401`) {
		t.Errorf("debug log lacks the request lines:\n%s", logText)
	}
	for _, s := range []string{"殺す", "顔", "責任者", "ticket-9", "k-helpdesk", "k-stolen"} {
		if strings.Contains(logText, s) {
			t.Errorf("log carries %q from a request:\n%s", s, logText)
		}
	}
}
