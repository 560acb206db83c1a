package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// POST /v1alpha1/comments:analyze answers Perspective API's AnalyzeComment
// (https://github.com/conversationai/perspectiveapi, 2-api/methods.md), so a
// Perspective client switches to kasuhara by changing its base URL. Errors
// come in Google's JSON error shape,
// {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}.

// perspectiveAttribute is a Perspective attribute kasuhara scores, and
// where its score comes from.
type perspectiveAttribute struct {
	name string
	from categoryGroup
	// severe scores the attribute only when the label is harassment.
	severe bool
}

// perspectiveAttributes are the attributes kasuhara answers; any other is a
// 400. README.md's "Switching from Perspective API" documents this table.
var perspectiveAttributes = []perspectiveAttribute{
	{name: "TOXICITY", from: harassmentCategories},
	{name: "SEVERE_TOXICITY", from: harassmentCategories, severe: true},
	{name: "INSULT", from: categoryGroup{lexicon.Abuse}},
	{name: "PROFANITY", from: categoryGroup{lexicon.Abuse}},
	{name: "THREAT", from: categoryGroup{lexicon.Threat, lexicon.Exposure}},
	{name: "IDENTITY_ATTACK", from: categoryGroup{lexicon.Discrimination}},
	{name: "SEXUALLY_EXPLICIT", from: categoryGroup{lexicon.Sexual}},
	{name: "FLIRTATION", from: categoryGroup{lexicon.Sexual}},
}

// perspectiveScoreType is the only score type Perspective defines.
const perspectiveScoreType = "PROBABILITY"

type analyzeCommentRequest struct {
	Comment struct {
		Text string `json:"text"`
		Type string `json:"type"` // PLAIN_TEXT; HTML is not supported
	} `json:"comment"`
	RequestedAttributes map[string]*attributeParameters `json:"requestedAttributes"`
	Languages           []string                        `json:"languages"`
	SpanAnnotations     bool                            `json:"spanAnnotations"`
	// DoNotStore is accepted and needs nothing: kasuhara never stores text.
	DoNotStore  bool   `json:"doNotStore"`
	ClientToken string `json:"clientToken"`
	// Accepted and ignored, as Perspective ignores context.
	Context     json.RawMessage `json:"context"`
	SessionID   string          `json:"sessionId"`
	CommunityID string          `json:"communityId"`
}

type attributeParameters struct {
	ScoreType      string   `json:"scoreType"`
	ScoreThreshold *float64 `json:"scoreThreshold"`
}

type analyzeCommentResponse struct {
	AttributeScores map[string]attributeScores `json:"attributeScores"`
	Languages       []string                   `json:"languages"`
	ClientToken     string                     `json:"clientToken,omitempty"`
}

type attributeScores struct {
	SummaryScore perspectiveScore `json:"summaryScore"`
	SpanScores   []spanScore      `json:"spanScores,omitempty"`
}

type perspectiveScore struct {
	Value float64 `json:"value"`
	Type  string  `json:"type"`
}

// spanScore is a scored stretch of comment.text: [begin, end) in UTF-16
// code units, as Perspective counts.
type spanScore struct {
	Begin int              `json:"begin"`
	End   int              `json:"end"`
	Score perspectiveScore `json:"score"`
}

// perspectiveStyle reads the key from ?key= (or the X-Goog-Api-Key header)
// and writes Google's error shape.
var perspectiveStyle = apiStyle{
	authenticate: func(r *http.Request, keys *APIKeys) error {
		key := r.URL.Query().Get("key")
		if key == "" {
			key = r.Header.Get("X-Goog-Api-Key")
		}
		if keys.accepts(key) {
			return nil
		}
		// What Google answers for a bad key: 400, INVALID_ARGUMENT.
		return status.Error(codes.InvalidArgument, "API key not valid. Please pass a valid API key.")
	},
	writeError: func(w http.ResponseWriter, httpStatus int, st *status.Status) {
		type googleError struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		}
		writeJSON(w, httpStatus, struct {
			Error googleError `json:"error"`
		}{googleError{httpStatus, st.Message(), codeName(st.Code())}})
	},
}

// analyzeComment is POST /v1alpha1/comments:analyze.
func (a *httpAPI) analyzeComment(ctx context.Context, c *classifier.Classifier, body []byte) ([]byte, error) {
	var req analyzeCommentRequest
	if err := unmarshalStrict(body, &req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid JSON payload received. %v", err)
	}
	if t := req.Comment.Type; t != "" && t != "PLAIN_TEXT" {
		return nil, status.Errorf(codes.InvalidArgument, "comment.type %s: unsupported, want PLAIN_TEXT", t)
	}
	attrs, err := requestedAttributes(req.RequestedAttributes)
	if err != nil {
		return nil, err
	}
	languages := req.Languages
	if len(languages) == 0 {
		languages = []string{"ja"} // what detection would say: kasuhara reads only Japanese
	} else if !slices.ContainsFunc(languages, isJapanese) {
		return nil, status.Errorf(codes.InvalidArgument, "Attribute %s does not support request languages: %s",
			attrs[0].requested, strings.Join(languages, ","))
	}
	if err := a.cs.validate(c, "comment.text", req.Comment.Text); err != nil {
		return nil, err
	}
	resp, err := a.cs.classify(ctx, c, "comment.text", &kasuharav1.ClassifyRequest{Text: req.Comment.Text})
	if err != nil {
		return nil, err
	}
	out := analyzeCommentResponse{AttributeScores: map[string]attributeScores{}, Languages: languages, ClientToken: req.ClientToken}
	for _, at := range attrs {
		v := at.score(resp)
		if at.threshold != nil && v < *at.threshold {
			continue // Perspective leaves out scores under the requested threshold
		}
		s := attributeScores{SummaryScore: perspectiveScore{v, perspectiveScoreType}}
		if req.SpanAnnotations && (!at.severe || resp.GetLabel() == kasuharav1.Label_LABEL_HARASSMENT) {
			for _, sp := range at.from.spans(resp, req.Comment.Text) {
				if at.threshold == nil || sp.weight >= *at.threshold {
					s.SpanScores = append(s.SpanScores, spanScore{sp.begin, sp.end, perspectiveScore{sp.weight, perspectiveScoreType}})
				}
			}
		}
		out.AttributeScores[at.requested] = s
	}
	return marshalJSON(out)
}

// requestedAttribute is an attribute as a request named it, with its
// parameters.
type requestedAttribute struct {
	perspectiveAttribute
	requested string // as requested, version suffix and all: TOXICITY@6
	threshold *float64
}

// score is the attribute's summary score for resp: its categories' score,
// or their generic toxicity where that is higher, since Perspective scores
// an insult whoever it is aimed at (an insult about a third party is
// toxic, though not harassment of staff). SEVERE_TOXICITY keeps to the
// label.
func (at requestedAttribute) score(resp *kasuharav1.ClassifyResponse) float64 {
	if at.severe {
		if resp.GetLabel() != kasuharav1.Label_LABEL_HARASSMENT {
			return 0
		}
		return at.from.score(resp)
	}
	return max(at.from.score(resp), at.from.toxicity(resp))
}

// requestedAttributes checks requestedAttributes and returns them in name
// order: at least one, each one kasuhara scores, PROBABILITY scores only.
// A version suffix (TOXICITY@6) is accepted and echoed; kasuhara has one.
func requestedAttributes(req map[string]*attributeParameters) ([]requestedAttribute, error) {
	if len(req) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "requestedAttributes: empty, want one or more of %s", perspectiveAttributeNames())
	}
	var out []requestedAttribute
	for name, p := range req {
		base, _, _ := strings.Cut(name, "@")
		i := slices.IndexFunc(perspectiveAttributes, func(a perspectiveAttribute) bool { return a.name == base })
		if i < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "requestedAttributes: attribute %s: not supported by kasuhara, want one of %s",
				name, perspectiveAttributeNames())
		}
		at := requestedAttribute{perspectiveAttribute: perspectiveAttributes[i], requested: name}
		if p != nil {
			if p.ScoreType != "" && p.ScoreType != perspectiveScoreType {
				return nil, status.Errorf(codes.InvalidArgument, "requestedAttributes[%s].scoreType %s: unsupported, want %s", name, p.ScoreType, perspectiveScoreType)
			}
			at.threshold = p.ScoreThreshold
		}
		out = append(out, at)
	}
	slices.SortFunc(out, func(a, b requestedAttribute) int { return strings.Compare(a.requested, b.requested) })
	return out, nil
}

func perspectiveAttributeNames() string {
	names := make([]string, len(perspectiveAttributes))
	for i, a := range perspectiveAttributes {
		names[i] = a.name
	}
	return strings.Join(names, ", ")
}

// isJapanese reports whether lang, an ISO 639-1 or BCP-47 code, is
// Japanese: ja, JA, ja-JP.
func isJapanese(lang string) bool {
	base, _, _ := strings.Cut(strings.ReplaceAll(lang, "_", "-"), "-")
	return strings.EqualFold(base, "ja")
}
