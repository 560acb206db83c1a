package server

import (
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// The shapes below are Perspective's AnalyzeComment response and Google's
// error body as documented (conversationai/perspectiveapi 2-api/methods.md;
// the commentanalyzer v1alpha1 discovery document for spanScores), written
// independently of perspective.go's types so a renamed field fails here.
type perspectiveResponseDoc struct {
	AttributeScores map[string]struct {
		SummaryScore *perspectiveScoreDoc `json:"summaryScore"`
		SpanScores   []struct {
			Begin *int                 `json:"begin"`
			End   *int                 `json:"end"`
			Score *perspectiveScoreDoc `json:"score"`
		} `json:"spanScores"`
	} `json:"attributeScores"`
	Languages   []string `json:"languages"`
	ClientToken string   `json:"clientToken"`
}

type perspectiveScoreDoc struct {
	Value *float64 `json:"value"`
	Type  string   `json:"type"`
}

type googleErrorDoc struct {
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

func TestPerspectiveGolden(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{lexicon: mappingLexicon})
	runGolden(t, ht, []goldenCase{
		{"perspective-analyze", routePerspective, 200},
		{"perspective-autodetect", routePerspective, 200},
		{"perspective-threshold", routePerspective, 200},
		{"perspective-error-language", routePerspective, 400},
		{"perspective-error-attribute", routePerspective, 400},
	}, func(*testing.T, any) {})
}

// analyze posts a comment and returns the decoded answer, checked against
// the documented shape: every score a PROBABILITY in [0,1], every span
// inside the comment in UTF-16 code units.
func analyze(t *testing.T, ht *httpTest, body string) perspectiveResponseDoc {
	t.Helper()
	r := ht.do(t, request{path: routePerspective, body: body})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp perspectiveResponseDoc
	decodeStrict(t, r.body, &resp)
	var req struct {
		Comment struct{ Text string } `json:"comment"`
	}
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	units := len(utf16Offsets(req.Comment.Text)) - 1
	checkScore := func(name string, s *perspectiveScoreDoc) {
		if s == nil || s.Value == nil || *s.Value < 0 || *s.Value > 1 || s.Type != "PROBABILITY" {
			t.Errorf("%s: score %+v, want a PROBABILITY in [0,1]", name, s)
		}
	}
	for name, a := range resp.AttributeScores {
		checkScore(name+".summaryScore", a.SummaryScore)
		for _, sp := range a.SpanScores {
			checkScore(name+".spanScores[].score", sp.Score)
			if sp.Begin == nil || sp.End == nil || *sp.Begin < 0 || *sp.Begin >= *sp.End || *sp.End > units {
				t.Errorf("%s: span [%v,%v) outside the comment's %d UTF-16 units", name, sp.Begin, sp.End, units)
			}
		}
	}
	return resp
}

func TestPerspectiveMapping(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{lexicon: mappingLexicon})
	// The mapping lexicon: threat 殺す .6, exposure 晒す .5, coercion 土下座
	// .4, abuse 無能 .7, discrimination 外人 .55, sexual 下着 .45, personal
	// 住所 .35, persistence 毎日 .3, escalation 責任者 .7. Harassment at .75.
	tests := []struct {
		name string
		text string
		want map[string]float64
	}{
		{"abuse 無能 is INSULT and PROFANITY, escalate so not SEVERE", "無能",
			map[string]float64{"TOXICITY": .7, "SEVERE_TOXICITY": 0, "INSULT": .7, "PROFANITY": .7, "THREAT": 0, "IDENTITY_ATTACK": 0, "SEXUALLY_EXPLICIT": 0, "FLIRTATION": 0}},
		{"abuse and threat together are harassment, so SEVERE", "無能、殺す",
			map[string]float64{"TOXICITY": .88, "SEVERE_TOXICITY": .88, "INSULT": .7, "THREAT": .6}},
		{"THREAT combines threat and exposure as noisy-OR", "ネットに晒す。殺す",
			map[string]float64{"TOXICITY": .8, "THREAT": .8, "INSULT": 0}},
		{"discrimination 外人 is IDENTITY_ATTACK", "外人",
			map[string]float64{"TOXICITY": .55, "IDENTITY_ATTACK": .55, "INSULT": 0}},
		{"sexual 下着 is SEXUALLY_EXPLICIT and FLIRTATION", "下着の色",
			map[string]float64{"TOXICITY": .45, "SEXUALLY_EXPLICIT": .45, "FLIRTATION": .45, "SEVERE_TOXICITY": 0}},
		{"coercion, personal and persistence count only toward TOXICITY", "土下座",
			map[string]float64{"TOXICITY": .4, "THREAT": 0, "INSULT": 0, "IDENTITY_ATTACK": 0}},
		{"escalation 責任者 is not toxicity", "責任者を出せ",
			map[string]float64{"TOXICITY": 0, "SEVERE_TOXICITY": 0, "INSULT": 0, "THREAT": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := map[string]struct{}{}
			for a := range tt.want {
				attrs[a] = struct{}{}
			}
			body, _ := json.Marshal(map[string]any{"comment": map[string]string{"text": tt.text}, "requestedAttributes": attrs})
			resp := analyze(t, ht, string(body))
			for a, want := range tt.want {
				s, ok := resp.AttributeScores[a]
				if !ok {
					t.Errorf("%s missing", a)
					continue
				}
				if got := *s.SummaryScore.Value; math.Abs(got-want) > 1e-9 {
					t.Errorf("%s = %v, want %v", a, got, want)
				}
			}
			if len(resp.AttributeScores) != len(tt.want) {
				t.Errorf("answered %d attributes, want the %d requested", len(resp.AttributeScores), len(tt.want))
			}
		})
	}
}

func TestPerspectiveSpans(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{})
	// 😀 is two UTF-16 code units: the first 殺す is code points [4,6) but
	// units [5,7); the second, code points [8,10), is units [9,11).
	resp := analyze(t, ht, `{"comment": {"text": "😀お前を殺すぞ。殺すからな"}, "spanAnnotations": true,
		"requestedAttributes": {"THREAT": {}, "INSULT": {}}}`)
	var got [][2]int
	for _, sp := range resp.AttributeScores["THREAT"].SpanScores {
		got = append(got, [2]int{*sp.Begin, *sp.End})
	}
	if want := [][2]int{{5, 7}, {9, 11}}; !reflect.DeepEqual(got, want) {
		t.Errorf("THREAT spans = %v, want %v", got, want)
	}
	if got := resp.AttributeScores["INSULT"].SpanScores; len(got) != 0 {
		t.Errorf("INSULT spans = %+v, want none (no abuse matched)", got)
	}

	// Without spanAnnotations there are no spans.
	resp = analyze(t, ht, `{"comment": {"text": "殺すぞ"}, "requestedAttributes": {"THREAT": {}}}`)
	if got := resp.AttributeScores["THREAT"].SpanScores; got != nil {
		t.Errorf("spans without spanAnnotations: %+v", got)
	}

	// SEVERE_TOXICITY has spans only when the message is harassment.
	mapped := startHTTP(t, httpTestOptions{lexicon: mappingLexicon})
	resp = analyze(t, mapped, `{"comment": {"text": "無能"}, "spanAnnotations": true, "requestedAttributes": {"SEVERE_TOXICITY": {}, "TOXICITY": {}}}`)
	if got := resp.AttributeScores["SEVERE_TOXICITY"].SpanScores; got != nil {
		t.Errorf("SEVERE_TOXICITY spans on an escalate message: %+v", got)
	}
	if got := resp.AttributeScores["TOXICITY"].SpanScores; len(got) != 1 {
		t.Errorf("TOXICITY spans = %+v, want the 無能 match", got)
	}
}

func TestPerspectiveRequestVariants(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{})
	tests := []struct {
		name      string
		body      string
		languages []string
		attrs     []string
		token     string
	}{
		{"languages are mirrored when one is Japanese", `{"comment": {"text": "殺すぞ"}, "languages": ["en", "ja"], "requestedAttributes": {"TOXICITY": {}}}`,
			[]string{"en", "ja"}, []string{"TOXICITY"}, ""},
		{"upper-case and regional Japanese codes are Japanese", `{"comment": {"text": "殺すぞ"}, "languages": ["JA_jp"], "requestedAttributes": {"TOXICITY": {}}}`,
			[]string{"JA_jp"}, []string{"TOXICITY"}, ""},
		{"no languages answers ja, as detection would", `{"comment": {"text": "殺すぞ"}, "requestedAttributes": {"TOXICITY": {}}}`,
			[]string{"ja"}, []string{"TOXICITY"}, ""},
		{"a version suffix is echoed", `{"comment": {"text": "殺すぞ"}, "requestedAttributes": {"TOXICITY@6": {}, "THREAT@2": {}}}`,
			[]string{"ja"}, []string{"TOXICITY@6", "THREAT@2"}, ""},
		{"a threshold above the score leaves the attribute out", `{"comment": {"text": "責任者"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.1}, "THREAT": {}}}`,
			[]string{"ja"}, []string{"THREAT"}, ""},
		{"doNotStore, sessionId, communityId and context are accepted", `{"comment": {"text": "殺すぞ"}, "requestedAttributes": {"TOXICITY": {}},
			"doNotStore": true, "sessionId": "s", "communityId": "c", "context": {"entries": [{"text": "x", "type": "PLAIN_TEXT"}]}, "clientToken": "tok"}`,
			[]string{"ja"}, []string{"TOXICITY"}, "tok"},
		{"null attribute parameters are defaults", `{"comment": {"text": "殺すぞ"}, "requestedAttributes": {"TOXICITY": null}}`,
			[]string{"ja"}, []string{"TOXICITY"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := analyze(t, ht, tt.body)
			if strings.Join(resp.Languages, ",") != strings.Join(tt.languages, ",") {
				t.Errorf("languages = %v, want %v", resp.Languages, tt.languages)
			}
			if len(resp.AttributeScores) != len(tt.attrs) {
				t.Errorf("attributes %v, want %v", resp.AttributeScores, tt.attrs)
			}
			for _, a := range tt.attrs {
				if _, ok := resp.AttributeScores[a]; !ok {
					t.Errorf("attribute %s missing", a)
				}
			}
			if resp.ClientToken != tt.token {
				t.Errorf("clientToken = %q, want %q", resp.ClientToken, tt.token)
			}
		})
	}
}

func TestPerspectiveErrors(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{maxText: 16})
	tests := []struct {
		name    string
		req     request
		status  int
		grpc    string
		message string
	}{
		{"an attribute kasuhara cannot score", request{body: `{"comment": {"text": "a"}, "requestedAttributes": {"ATTACK_ON_AUTHOR": {}}}`},
			400, "INVALID_ARGUMENT", "attribute ATTACK_ON_AUTHOR: not supported by kasuhara"},
		{"an experimental attribute name", request{body: `{"comment": {"text": "a"}, "requestedAttributes": {"TOXICITY_EXPERIMENTAL": {}}}`},
			400, "INVALID_ARGUMENT", "TOXICITY_EXPERIMENTAL"},
		{"no requested attributes", request{body: `{"comment": {"text": "a"}}`},
			400, "INVALID_ARGUMENT", "requestedAttributes: empty, want one or more of TOXICITY"},
		{"a score type other than PROBABILITY", request{body: `{"comment": {"text": "a"}, "requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_SCORE"}}}`},
			400, "INVALID_ARGUMENT", "requestedAttributes[TOXICITY].scoreType STD_DEV_SCORE: unsupported, want PROBABILITY"},
		{"only non-Japanese languages", request{body: `{"comment": {"text": "a"}, "languages": ["en", "fr"], "requestedAttributes": {"THREAT": {}, "INSULT": {}}}`},
			400, "INVALID_ARGUMENT", "Attribute INSULT does not support request languages: en,fr"},
		{"HTML comments", request{body: `{"comment": {"text": "<b>a</b>", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}}`},
			400, "INVALID_ARGUMENT", "comment.type HTML: unsupported, want PLAIN_TEXT"},
		{"no comment text", request{body: `{"requestedAttributes": {"TOXICITY": {}}}`},
			400, "INVALID_ARGUMENT", "comment.text: empty, want some text"},
		{"comment text over --max-text-bytes", request{body: `{"comment": {"text": "ああああああ"}, "requestedAttributes": {"TOXICITY": {}}}`},
			400, "INVALID_ARGUMENT", "comment.text: 18 bytes, want <= 16"},
		{"not JSON", request{body: `comment=a`},
			400, "INVALID_ARGUMENT", "Invalid JSON payload received."},
		{"a field of the wrong type", request{body: `{"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}}`},
			400, "INVALID_ARGUMENT", "Invalid JSON payload received."},
		// encoding/json keeps the last of duplicate keys and matches keys in any case; these are refused, as /v1/classify refuses them.
		{"a duplicate key", request{body: `{"comment": {"text": "殺すぞ", "text": "こんにちは"}, "requestedAttributes": {"TOXICITY": {}}}`},
			400, "INVALID_ARGUMENT", "Invalid JSON payload received. comment.text: duplicate key"},
		{"a key in two cases", request{body: `{"comment": {"text": "殺すぞ"}, "Comment": {"text": "こんにちは"}, "requestedAttributes": {"TOXICITY": {}}}`},
			400, "INVALID_ARGUMENT", `Comment: key "Comment" given also as "comment", want one`},
		{"a key in another case", request{body: `{"comment": {"TEXT": "殺すぞ"}, "requestedAttributes": {"TOXICITY": {}}}`},
			400, "INVALID_ARGUMENT", `comment.TEXT: unknown key "TEXT", want "text"`},
		{"an attribute named twice", request{body: `{"comment": {"text": "a"}, "requestedAttributes": {"THREAT": {}, "THREAT": {"scoreThreshold": 0.9}}}`},
			400, "INVALID_ARGUMENT", "requestedAttributes.THREAT: duplicate key"},
		{"GET", request{method: "GET"}, 405, "UNIMPLEMENTED", "method GET: not allowed, want POST"},
		{"a form body", request{contentType: "application/x-www-form-urlencoded", body: `comment=a`}, 415, "INVALID_ARGUMENT", "want application/json"},
		{"an unknown v1alpha1 method", request{path: "/v1alpha1/comments:suggestscore", body: `{}`}, 404, "NOT_FOUND", "no route /v1alpha1/comments:suggestscore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.path == "" {
				tt.req.path = routePerspective
			}
			r := ht.do(t, tt.req)
			if r.status != tt.status {
				t.Errorf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			var e googleErrorDoc
			decodeStrict(t, r.body, &e)
			if e.Error == nil || e.Error.Code != tt.status || e.Error.Status != tt.grpc || !strings.Contains(e.Error.Message, tt.message) {
				t.Errorf("body %s, want error {code %d, status %s, message with %q}", r.body, tt.status, tt.grpc, tt.message)
			}
		})
	}
}

// TestPerspectiveToxicityWhateverTarget: an insult about a third party is
// not harassment of staff, but Perspective scores insults whoever they are
// aimed at, so INSULT and TOXICITY carry the generic toxicity.
func TestPerspectiveToxicityWhateverTarget(t *testing.T) {
	lex, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.New(lex, classifier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Classify("隣の客がクソ野郎でした")
	if err != nil {
		t.Fatal(err)
	}
	resp := ClassifyResponse("", r)
	if resp.GetLabel() == kasuharav1.Label_LABEL_HARASSMENT {
		t.Fatalf("label %v: a third party's insult is not harassment of staff", resp.GetLabel())
	}
	for _, name := range []string{"TOXICITY", "INSULT", "PROFANITY"} {
		var at requestedAttribute
		for _, a := range perspectiveAttributes {
			if a.name == name {
				at.perspectiveAttribute = a
			}
		}
		if s := at.score(resp); s < 0.8 {
			t.Errorf("%s = %v, want the insult's toxicity (>= 0.8)", name, s)
		}
	}
	var severe requestedAttribute
	for _, a := range perspectiveAttributes {
		if a.name == "SEVERE_TOXICITY" {
			severe.perspectiveAttribute = a
		}
	}
	if s := severe.score(resp); s != 0 {
		t.Errorf("SEVERE_TOXICITY = %v, want 0: it keeps to the label", s)
	}
}
