package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// moderationID is the shape of the id an answer carries: modr- and a random
// token, different every time.
var moderationID = regexp.MustCompile(`^modr-[A-Z2-7]{26}$`)

// normaliseModeration replaces what changes from run to run (the id, the
// lexicon's content hash) with placeholders, after checking them.
func normaliseModeration(t *testing.T, v any) {
	t.Helper()
	doc, ok := v.(map[string]any)
	if !ok || doc["error"] != nil {
		return
	}
	if id, _ := doc["id"].(string); !moderationID.MatchString(id) {
		t.Errorf("id %q, want modr- and a random token", id)
	}
	doc["id"] = "modr-(random)"
	results, _ := doc["results"].([]any)
	for _, r := range results {
		k, _ := r.(map[string]any)["kasuhara"].(map[string]any)
		if v, _ := k["lexiconVersion"].(string); v == "" {
			t.Errorf("result without kasuhara.lexiconVersion: %v", r)
		}
		k["lexiconVersion"] = "(lexicon version)"
	}
}

func TestModerationGolden(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{lexicon: mappingLexicon})
	runGolden(t, ht, []goldenCase{
		{"moderation-string", routeModerations, 200},
		{"moderation-array", routeModerations, 200},
		{"moderation-parts", routeModerations, 200},
		{"moderation-error-empty", routeModerations, 400},
		{"moderation-error-image", routeModerations, 400},
	}, normaliseModeration)
}

// moderationResultDoc is one result as OpenAI documents it, written
// independently of moderation.go's types.
type moderationResultDoc struct {
	Flagged                   *bool               `json:"flagged"`
	Categories                map[string]bool     `json:"categories"`
	CategoryScores            map[string]float64  `json:"category_scores"`
	CategoryAppliedInputTypes map[string][]string `json:"category_applied_input_types"`
	Kasuhara                  json.RawMessage     `json:"kasuhara"`
}

// openAICategoryNames are the categories of OpenAI's moderation response,
// from its API reference.
var openAICategoryNames = []string{"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic"}

func TestModerationMapping(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{lexicon: mappingLexicon})
	// The mapping lexicon: threat 殺す .6, exposure 晒す .5, coercion 土下座
	// .4, abuse 無能 .7, discrimination 外人 .55, sexual 下着 .45, escalation
	// 責任者 .7. Harassment (and a category's flag) at .75.
	tests := []struct {
		name    string
		text    string
		scores  map[string]float64 // the rest must be 0
		flags   []string           // the rest must be false
		flagged bool
	}{
		{"abuse alone is harassment below the threshold", "無能",
			map[string]float64{"harassment": .7}, nil, false},
		{"abuse and threat together are flagged harassment", "無能、殺す",
			map[string]float64{"harassment": .88, "harassment/threatening": .6, "violence": .6}, []string{"harassment"}, true},
		{"an intensified threat flags violence and harassment/threatening", "殺すぞ",
			map[string]float64{"harassment": .85, "harassment/threatening": .85, "violence": .85}, []string{"harassment", "harassment/threatening", "violence"}, true},
		{"exposure is threatening harassment, not violence", "ネットに晒す。殺す",
			map[string]float64{"harassment": .8, "harassment/threatening": .8, "violence": .6}, []string{"harassment", "harassment/threatening"}, true},
		{"discrimination is hate", "外人",
			map[string]float64{"harassment": .55, "hate": .55}, nil, false},
		{"sexual is sexual", "下着の色",
			map[string]float64{"harassment": .45, "sexual": .45}, nil, false},
		{"escalation is no category", "責任者を出せ", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"input": tt.text})
			r := ht.do(t, request{path: routeModerations, body: string(body)})
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var resp struct {
				ID      string                `json:"id"`
				Model   string                `json:"model"`
				Results []moderationResultDoc `json:"results"`
			}
			decodeStrict(t, r.body, &resp)
			if len(resp.Results) != 1 {
				t.Fatalf("%d results, want 1", len(resp.Results))
			}
			res := resp.Results[0]
			if res.Flagged == nil || *res.Flagged != tt.flagged {
				t.Errorf("flagged = %v, want %v", res.Flagged, tt.flagged)
			}
			for _, c := range openAICategoryNames {
				score, ok := res.CategoryScores[c]
				if _, hasFlag := res.Categories[c]; !ok || !hasFlag || len(res.CategoryAppliedInputTypes[c]) != 1 {
					t.Errorf("category %s missing from categories, category_scores or category_applied_input_types", c)
				}
				if math.Abs(score-tt.scores[c]) > 1e-9 {
					t.Errorf("category_scores[%s] = %v, want %v", c, score, tt.scores[c])
				}
				want := strings.Contains(" "+strings.Join(tt.flags, " ")+" ", " "+c+" ")
				if res.Categories[c] != want {
					t.Errorf("categories[%s] = %v, want %v", c, res.Categories[c], want)
				}
			}
			if len(res.CategoryScores) != len(openAICategoryNames) || len(res.Categories) != len(openAICategoryNames) {
				t.Errorf("%d scores and %d flags, want %d of each", len(res.CategoryScores), len(res.Categories), len(openAICategoryNames))
			}
		})
	}
}

func TestModerationErrors(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{maxText: 16, maxBatch: 2})
	tests := []struct {
		name    string
		req     request
		status  int
		message string
		code    string
	}{
		{"no input", request{body: `{"model": "omni-moderation-latest"}`}, 400, "input: want a string or an array of strings", ""},
		{"a null input", request{body: `{"input": null}`}, 400, "input: want a string or an array of strings", ""},
		{"a number", request{body: `{"input": 42}`}, 400, "input: want a string or an array of strings", ""},
		{"an empty string", request{body: `{"input": ""}`}, 400, "input: empty, want some text", ""},
		{"an empty array", request{body: `{"input": []}`}, 400, "input: empty, want 1 or more", ""},
		{"more inputs than --max-batch", request{body: `{"input": ["a", "b", "c"]}`}, 400, "input: 3 items, want <= 2", ""},
		{"an input over --max-text-bytes", request{body: `{"input": ["a", "ああああああ"]}`}, 400, "input[1]: 18 bytes, want <= 16", ""},
		{"a number in the array", request{body: `{"input": ["a", 1]}`}, 400, `input[1]: want a string or a {"type": "text"} object`, ""},
		{"a text part without text", request{body: `{"input": [{"type": "text"}]}`}, 400, `input[0].type "text": unsupported`, ""},
		{"malformed JSON", request{body: `{"input": "a"`}, 400, "request body:", ""},
		// encoding/json keeps the last of duplicate keys and matches keys in any case; these are refused, as /v1/classify refuses them.
		{"a duplicate key", request{body: `{"input": "殺すぞ", "input": "こんにちは"}`}, 400, "request body: input: duplicate key", ""},
		{"a key in two cases", request{body: `{"input": "殺すぞ", "Input": "こんにちは"}`}, 400, `request body: Input: key "Input" given also as "input", want one`, ""},
		{"a key in another case", request{body: `{"INPUT": "殺すぞ"}`}, 400, `request body: INPUT: unknown key "INPUT", want "input"`, ""},
		{"a duplicate key inside a part", request{body: `{"input": [{"type": "text", "text": "殺すぞ", "text": "やあ"}]}`}, 400, "request body: input[0].text: duplicate key", ""},
		{"GET", request{method: "GET"}, 405, "method GET: not allowed, want POST", ""},
		{"text/plain", request{contentType: "text/plain", body: `{"input": "a"}`}, 415, "want application/json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.path = routeModerations
			r := ht.do(t, tt.req)
			if r.status != tt.status {
				t.Errorf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			var e struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			decodeStrict(t, r.body, &e)
			if e.Error == nil || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, tt.message) {
				t.Errorf("body %s, want an invalid_request_error with %q", r.body, tt.message)
			}
		})
	}
}

// TestOpenAIGoClient points OpenAI's own Go client at kasuhara, as a
// program switching its base URL would.
func TestOpenAIGoClient(t *testing.T) {
	ht := startHTTP(t, httpTestOptions{keys: []string{"sk-kasuhara"}})
	client := openai.NewClient(option.WithBaseURL(ht.url+"/v1/"), option.WithAPIKey("sk-kasuhara"), option.WithMaxRetries(0))
	ctx := context.Background()

	resp, err := client.Moderations.New(ctx, openai.ModerationNewParams{
		Model: openai.ModerationModelOmniModerationLatest,
		Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"お前を殺すぞ", "発送はいつですか"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "modr-") || resp.Model != moderationModel || len(resp.Results) != 2 {
		t.Fatalf("resp = %s", resp.RawJSON())
	}
	threat, routine := resp.Results[0], resp.Results[1]
	if !threat.Flagged || !threat.Categories.Harassment || !threat.Categories.HarassmentThreatening || !threat.Categories.Violence ||
		threat.CategoryScores.Harassment != 1 || threat.CategoryScores.Violence != 1 || threat.Categories.Hate || threat.CategoryScores.SelfHarm != 0 {
		t.Errorf("threat result = %s", threat.RawJSON())
	}
	if routine.Flagged || routine.Categories.Harassment || routine.CategoryScores.Harassment != 0 {
		t.Errorf("routine result = %s", routine.RawJSON())
	}
	// Every documented field arrived, and kasuhara's answer rides along as
	// an extra field the client keeps but does not need.
	if !threat.JSON.Flagged.Valid() || !threat.JSON.Categories.Valid() || !threat.JSON.CategoryScores.Valid() || !threat.JSON.CategoryAppliedInputTypes.Valid() {
		t.Errorf("fields missing for the client: %s", threat.RawJSON())
	}
	if len(threat.CategoryAppliedInputTypes.Harassment) != 1 || threat.CategoryAppliedInputTypes.Harassment[0] != "text" {
		t.Errorf("category_applied_input_types = %s", threat.CategoryAppliedInputTypes.RawJSON())
	}
	extra, ok := threat.JSON.ExtraFields["kasuhara"]
	if !ok || !strings.Contains(extra.Raw(), `"label":"LABEL_HARASSMENT"`) {
		t.Errorf("kasuhara extra field = %q", extra.Raw())
	}

	// One string, and the multimodal text form.
	one, err := client.Moderations.New(ctx, openai.ModerationNewParams{Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("殺すぞ")}})
	if err != nil || len(one.Results) != 1 || !one.Results[0].Flagged {
		t.Errorf("string input: %v, %v", one, err)
	}
	parts, err := client.Moderations.New(ctx, openai.ModerationNewParams{Input: openai.ModerationNewParamsInputUnion{
		OfModerationMultiModalArray: []openai.ModerationMultiModalInputUnionParam{openai.ModerationMultiModalInputParamOfText("殺すぞ")}}})
	if err != nil || len(parts.Results) != 1 || !parts.Results[0].Flagged {
		t.Errorf("multimodal text input: %v, %v", parts, err)
	}

	// Errors reach the client as *openai.Error with OpenAI's fields.
	_, err = client.Moderations.New(ctx, openai.ModerationNewParams{Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"a", ""}}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" || apiErr.Message != "input[1]: empty, want some text" {
		t.Errorf("empty input: err = %v (%+v)", err, apiErr)
	}
	bad := openai.NewClient(option.WithBaseURL(ht.url+"/v1/"), option.WithAPIKey("sk-wrong"), option.WithMaxRetries(0))
	_, err = bad.Moderations.New(ctx, openai.ModerationNewParams{Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("a")}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("wrong key: err = %v (%+v)", err, apiErr)
	}
}
