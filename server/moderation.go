package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// POST /v1/moderations answers OpenAI's moderation endpoint, so an OpenAI
// client pointed at kasuhara's base URL (http://HOST:PORT/v1) works
// unchanged. Every OpenAI category is present; the ones kasuhara does not
// judge are false and 0. Each result also carries kasuhara's own answer
// (label, scores, matches, lexicon version) under "kasuhara", which OpenAI
// clients ignore. Errors come in OpenAI's shape,
// {"error": {"message", "type", "param", "code"}}.

// moderationModel is the model every answer names: kasuhara's lexicon, not
// the model the request asked for.
const moderationModel = "kasuhara"

// openAICategory is an OpenAI moderation category and the kasuhara
// categories it is scored from; an empty group is one kasuhara does not
// judge (always 0, never flagged).
type openAICategory struct {
	name string
	from categoryGroup
}

// openAICategories lists every category of OpenAI's moderation response.
// README.md's "Using with OpenAI-moderation clients" documents this table.
var openAICategories = []openAICategory{
	{"harassment", harassmentCategories},
	{"harassment/threatening", categoryGroup{lexicon.Threat, lexicon.Exposure}},
	{"hate", categoryGroup{lexicon.Discrimination}},
	{"hate/threatening", categoryGroup{}},
	{"illicit", categoryGroup{}},
	{"illicit/violent", categoryGroup{}},
	{"self-harm", categoryGroup{}},
	{"self-harm/instructions", categoryGroup{}},
	{"self-harm/intent", categoryGroup{}},
	{"sexual", categoryGroup{lexicon.Sexual}},
	{"sexual/minors", categoryGroup{}},
	{"violence", categoryGroup{lexicon.Threat}},
	{"violence/graphic", categoryGroup{}},
}

type moderationRequest struct {
	// Input is a string, an array of strings, or an array of
	// {"type": "text", "text": ...} objects.
	Input json.RawMessage `json:"input"`
	// Model is accepted and ignored: kasuhara has one.
	Model string `json:"model"`
}

type moderationResponse struct {
	ID      string             `json:"id"`
	Model   string             `json:"model"`
	Results []moderationResult `json:"results"`
}

type moderationResult struct {
	Flagged                   bool                `json:"flagged"`
	Categories                map[string]bool     `json:"categories"`
	CategoryScores            map[string]float64  `json:"category_scores"`
	CategoryAppliedInputTypes map[string][]string `json:"category_applied_input_types"`
	// Kasuhara is the ClassifyResponse, as /v1/classify answers it.
	Kasuhara json.RawMessage `json:"kasuhara"`
}

// openAIStyle reads the Bearer key OpenAI clients send and writes OpenAI's
// error shape.
var openAIStyle = apiStyle{
	authenticate: bearerKey,
	writeError: func(w http.ResponseWriter, httpStatus int, st *status.Status) {
		type openAIError struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		}
		e := openAIError{Message: st.Message(), Type: "invalid_request_error"}
		if httpStatus >= 500 {
			e.Type = "server_error"
		}
		if st.Code() == codes.Unauthenticated {
			code := "invalid_api_key"
			e.Code = &code
		}
		writeJSON(w, httpStatus, struct {
			Error openAIError `json:"error"`
		}{e})
	},
}

// moderate is POST /v1/moderations. Like ClassifyBatch, it checks every
// input before classifying any, and one classifier answers them all.
func (a *httpAPI) moderate(ctx context.Context, c *classifier.Classifier, body []byte) ([]byte, error) {
	var req moderationRequest
	if err := unmarshalStrict(body, &req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "request body: %v", err)
	}
	texts, fields, err := moderationInputs(req.Input)
	if err != nil {
		return nil, err
	}
	switch {
	case len(texts) == 0:
		return nil, status.Error(codes.InvalidArgument, "input: empty, want 1 or more")
	case len(texts) > a.cs.maxBatch:
		return nil, status.Errorf(codes.InvalidArgument, "input: %d items, want <= %d", len(texts), a.cs.maxBatch)
	}
	if err := a.cs.validateBatch(c, "input", len(texts), func(i int) (string, string) { return fields[i], texts[i] }); err != nil {
		return nil, err
	}
	threshold := c.Options().HarassmentThreshold
	out := moderationResponse{ID: "modr-" + rand.Text(), Model: moderationModel, Results: make([]moderationResult, len(texts))}
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		resp, err := a.cs.classify(ctx, c, fields[i], &kasuharav1.ClassifyRequest{Text: t})
		if err != nil {
			return nil, err
		}
		if out.Results[i], err = moderationResultOf(resp, threshold); err != nil {
			return nil, err
		}
	}
	return marshalJSON(out)
}

// moderationResultOf maps a classification to OpenAI's categories: a
// category is flagged at or above the harassment threshold, as the
// harassment label is, so every flag implies flagged.
func moderationResultOf(resp *kasuharav1.ClassifyResponse, threshold float64) (moderationResult, error) {
	r := moderationResult{
		Flagged:                   resp.GetLabel() == kasuharav1.Label_LABEL_HARASSMENT,
		Categories:                make(map[string]bool, len(openAICategories)),
		CategoryScores:            make(map[string]float64, len(openAICategories)),
		CategoryAppliedInputTypes: make(map[string][]string, len(openAICategories)),
	}
	for _, oc := range openAICategories {
		s := oc.from.score(resp)
		r.CategoryScores[oc.name] = s
		r.Categories[oc.name] = s >= threshold
		r.CategoryAppliedInputTypes[oc.name] = []string{"text"}
	}
	var err error
	if r.Kasuhara, err = marshalResponse(resp); err != nil {
		return moderationResult{}, err
	}
	return r, nil
}

// moderationInputs reads input: a string, or an array of strings or of
// {"type": "text", "text": ...} parts. It returns the texts and the name of
// each one's field for errors: input, input[2].
func moderationInputs(raw json.RawMessage) (texts, fields []string, err error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil && len(raw) > 0 && raw[0] == '"' {
		return []string{one}, []string{"input"}, nil
	}
	var many []json.RawMessage
	if err := json.Unmarshal(raw, &many); err != nil || many == nil {
		return nil, nil, status.Error(codes.InvalidArgument, "input: want a string or an array of strings")
	}
	for i, item := range many {
		field := fmt.Sprintf("input[%d]", i)
		var part struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		switch {
		case json.Unmarshal(item, &one) == nil && item[0] == '"':
			texts = append(texts, one)
		case json.Unmarshal(item, &part) == nil && item[0] == '{':
			if part.Type != "text" || part.Text == nil {
				return nil, nil, status.Errorf(codes.InvalidArgument, "%s.type %q: unsupported, want \"text\" with a text field (kasuhara reads text only)", field, part.Type)
			}
			texts = append(texts, *part.Text)
		default:
			return nil, nil, status.Errorf(codes.InvalidArgument, "%s: want a string or a {\"type\": \"text\"} object", field)
		}
		fields = append(fields, field)
	}
	return texts, fields, nil
}
