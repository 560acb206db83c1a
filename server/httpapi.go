package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// The HTTP/JSON API on --http-addr, beside /metrics and /healthz:
//
//	POST /v1/classify                 ClassifyRequest → ClassifyResponse (protojson)
//	POST /v1/classify:batch           ClassifyBatchRequest → ClassifyBatchResponse
//	POST /v1alpha1/comments:analyze   Perspective API's AnalyzeComment (perspective.go)
//	POST /v1/moderations              OpenAI's moderation endpoint (moderation.go)
//
// Every route goes through the same gate (method, API key, content type,
// body size, UTF-8), classifies through the gRPC adapter's classifierServer
// (so validation, the per-label counters and the size limit are the gRPC
// API's), maps errors to HTTP statuses in httpAnswer, and is counted by
// route and status code. Message text is never logged.

// Route names: the paths, and the values of the route metric label.
const (
	routeClassify      = "/v1/classify"
	routeClassifyBatch = "/v1/classify:batch"
	routePerspective   = "/v1alpha1/comments:analyze"
	routeModerations   = "/v1/moderations"
	routeUnmatched     = "unmatched" // any other path under /v1/ or /v1alpha1/
)

// grpcMaxRecvBytes is grpc-go's default largest request message, which
// bounds a ClassifyBatch over gRPC; HTTP bodies get at least as much.
const grpcMaxRecvBytes = 4 << 20

// responseJSON writes kasuhara's own responses: every field present, zero
// or not, so webhook consumers need no defaults.
var responseJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// httpDeps is what the HTTP API needs from the server.
type httpDeps struct {
	cs   *classifierServer // the gRPC adapter: validation, metrics, classification
	keys *APIKeys          // nil: any key, or none, is accepted
	reg  prometheus.Registerer
	adm  *admission // the in-flight limit gRPC calls share; nil: none
	// bytes is the request byte budget gRPC calls share; nil: none.
	bytes *requestBytes
	// writeTimeout bounds writing one response, from its first byte.
	writeTimeout time.Duration
}

// httpAPI serves the JSON routes.
type httpAPI struct {
	cs    *classifierServer
	keys  *APIKeys
	adm   *admission
	bytes *requestBytes // nil: no budget
	log   *slog.Logger
	// writeTimeout bounds writing one response: a client that does not
	// read its answer loses the connection, and the server the answer.
	writeTimeout time.Duration
	requests     *prometheus.CounterVec   // by route, code
	duration     *prometheus.HistogramVec // by route, code
}

// registerHTTPAPI adds the JSON routes to mux and their metrics to d.reg.
func registerHTTPAPI(mux *http.ServeMux, d httpDeps) {
	newHTTPAPI(d).register(mux)
}

// newHTTPAPI builds the API and registers its metrics on d.reg.
func newHTTPAPI(d httpDeps) *httpAPI {
	a := &httpAPI{
		cs: d.cs, keys: d.keys, adm: d.adm, bytes: d.bytes, log: d.cs.log, writeTimeout: d.writeTimeout,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kasuhara", Subsystem: "http", Name: "requests_total",
			Help: "HTTP API requests answered, by route and HTTP status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kasuhara", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP API request, by route and HTTP status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "code"}),
	}
	d.reg.MustRegister(a.requests, a.duration)
	return a
}

// register adds the routes to mux.
func (a *httpAPI) register(mux *http.ServeMux) {
	for _, r := range []struct {
		name  string
		style *apiStyle
		h     routeHandler
	}{
		{routeClassify, &kasuharaStyle, a.classify},
		{routeClassifyBatch, &kasuharaStyle, a.classifyBatch},
		{routePerspective, &perspectiveStyle, a.analyzeComment},
		{routeModerations, &openAIStyle, a.moderate},
	} {
		a.requests.WithLabelValues(r.name, "200")
		mux.Handle(r.name, a.route(r.name, r.style, r.h))
	}
	notFound := func(style *apiStyle) http.Handler {
		return a.instrument(routeUnmatched, style, func(w http.ResponseWriter, r *http.Request) error {
			return status.Errorf(codes.NotFound, "no route %s; POST to %s, %s, %s or %s",
				r.URL.Path, routeClassify, routeClassifyBatch, routePerspective, routeModerations)
		})
	}
	mux.Handle("/v1/", notFound(&kasuharaStyle))
	mux.Handle("/v1alpha1/", notFound(&perspectiveStyle))
}

// routeHandler answers one admitted request: body is at most the body
// limit and valid UTF-8, c is the classifier that answers the whole request.
type routeHandler func(ctx context.Context, c *classifier.Classifier, body []byte) ([]byte, error)

// apiStyle is how one family of routes reads API keys and writes errors.
type apiStyle struct {
	// authenticate returns nil when the request carries a key in keys.
	authenticate func(r *http.Request, keys *APIKeys) error
	// writeError writes an error body; httpAnswer chose both statuses.
	writeError func(w http.ResponseWriter, httpStatus int, st *status.Status)
}

// kasuharaStyle is /v1/classify's: a Bearer key, and errors as
// {"code": gRPC code number, "message"}, the JSON form of google.rpc.Status.
var kasuharaStyle = apiStyle{
	authenticate: bearerKey,
	writeError: func(w http.ResponseWriter, httpStatus int, st *status.Status) {
		writeJSON(w, httpStatus, struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}{int(st.Code()), st.Message()})
	},
}

// bearerKey reads the key from "Authorization: Bearer KEY", as OpenAI's
// clients send it (the scheme in any case).
func bearerKey(r *http.Request, keys *APIKeys) error {
	key, _ := bearerToken(r.Header.Get("Authorization"))
	if keys.accepts(key) {
		return nil
	}
	return status.Error(codes.Unauthenticated, "missing or unknown API key; send Authorization: Bearer KEY")
}

// httpError is an error of the HTTP exchange itself (method, content type,
// body size), with the HTTP status to answer and the gRPC code to report.
type httpError struct {
	status int
	code   codes.Code
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// httpCodes gives, for each gRPC code, the HTTP status that answers it (as
// grpc-gateway maps them) and the code's canonical name.
var httpCodes = [...]struct {
	status int
	name   string
}{
	codes.OK:                 {http.StatusOK, "OK"},
	codes.Canceled:           {499, "CANCELLED"}, // client closed the request
	codes.Unknown:            {http.StatusInternalServerError, "UNKNOWN"},
	codes.InvalidArgument:    {http.StatusBadRequest, "INVALID_ARGUMENT"},
	codes.DeadlineExceeded:   {http.StatusGatewayTimeout, "DEADLINE_EXCEEDED"},
	codes.NotFound:           {http.StatusNotFound, "NOT_FOUND"},
	codes.AlreadyExists:      {http.StatusConflict, "ALREADY_EXISTS"},
	codes.PermissionDenied:   {http.StatusForbidden, "PERMISSION_DENIED"},
	codes.ResourceExhausted:  {http.StatusTooManyRequests, "RESOURCE_EXHAUSTED"},
	codes.FailedPrecondition: {http.StatusBadRequest, "FAILED_PRECONDITION"},
	codes.Aborted:            {http.StatusConflict, "ABORTED"},
	codes.OutOfRange:         {http.StatusBadRequest, "OUT_OF_RANGE"},
	codes.Unimplemented:      {http.StatusNotImplemented, "UNIMPLEMENTED"},
	codes.Internal:           {http.StatusInternalServerError, "INTERNAL"},
	codes.Unavailable:        {http.StatusServiceUnavailable, "UNAVAILABLE"},
	codes.DataLoss:           {http.StatusInternalServerError, "DATA_LOSS"},
	codes.Unauthenticated:    {http.StatusUnauthorized, "UNAUTHENTICATED"},
}

// codeName is the canonical name of c: INVALID_ARGUMENT.
func codeName(c codes.Code) string {
	if int(c) < len(httpCodes) {
		return httpCodes[c].name
	}
	return "UNKNOWN"
}

// httpAnswer is the one place that decides how an error is answered: the
// HTTP status and the gRPC status whose code and message the body carries.
func httpAnswer(err error) (int, *status.Status) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, status.New(he.code, he.msg)
	}
	st := status.Convert(err)
	if int(st.Code()) < len(httpCodes) && st.Code() != codes.OK {
		return httpCodes[st.Code()].status, st
	}
	return http.StatusInternalServerError, status.New(codes.Unknown, st.Message())
}

// route serves one JSON route: admit the request, run h, write its answer.
func (a *httpAPI) route(name string, style *apiStyle, h routeHandler) http.Handler {
	return a.instrument(name, style, func(w http.ResponseWriter, r *http.Request) error {
		body, c, hold, err := a.admit(w, r, style)
		if err != nil {
			return err
		}
		defer hold.drop() // once the answer is written, or its write times out
		out, err := a.classifyIn(w, r.Context(), func(ctx context.Context) ([]byte, error) { return h(ctx, c, body) })
		if err != nil {
			return err
		}
		writeBody(w, http.StatusOK, out)
		return nil
	})
}

// classifyIn runs classify in an in-flight slot, answering 429 when none
// is free. The slot is taken once the body is in, so a client that stalls
// its body holds a connection (the server's ReadTimeout ends it), never a
// slot; and it is given back before the answer is written, so a client
// that does not read its answer holds no slot either.
func (a *httpAPI) classifyIn(w http.ResponseWriter, ctx context.Context, classify func(context.Context) ([]byte, error)) ([]byte, error) {
	if a.adm == nil {
		return classify(ctx)
	}
	if !a.adm.acquire() {
		w.Header().Set("Retry-After", "1")
		return nil, a.adm.overloaded()
	}
	defer a.adm.release()
	return classify(ctx)
}

// instrument runs serve, answers the error it returns in style, recovers
// panics as Internal, and counts the request by route and status code.
// Nothing about the request but its route and status is logged.
func (a *httpAPI) instrument(name string, style *apiStyle, serve func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, writeTimeout: a.writeTimeout}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.Error("panic in HTTP handler", "route", name, "panic", panicSummary(p))
				if rec.code == 0 {
					a.answer(rec, style, status.Error(codes.Internal, "internal error"))
				}
			}
			d := time.Since(start)
			code := strconv.Itoa(rec.status())
			a.requests.WithLabelValues(name, code).Inc()
			a.duration.WithLabelValues(name, code).Observe(d.Seconds())
			a.log.Debug("http request", "route", name, "code", rec.status(), "duration", d)
		}()
		if err := serve(rec, r); err != nil {
			a.answer(rec, style, err)
		}
	})
}

// answer writes err as style's error body with the status httpAnswer picks.
// Server-side failures are logged; a client's mistakes are only answered.
func (a *httpAPI) answer(w http.ResponseWriter, style *apiStyle, err error) {
	code, st := httpAnswer(err)
	if code >= 500 {
		a.log.Error("http api", "code", code, "grpc_code", st.Code().String())
	}
	style.writeError(w, code, st)
}

// panicSummary describes a recovered panic without anything a request
// carried: a runtime error's message, otherwise only the value's type.
func panicSummary(p any) string {
	if re, ok := p.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("%T", p)
}

// admit checks what every route requires and reads the body: POST, an
// accepted API key, JSON, room in the request byte budget, a body within
// the limit, valid UTF-8. It returns the body, the classifier that will
// answer, and the budget the body holds, for the caller to drop once the
// answer is written.
func (a *httpAPI) admit(w http.ResponseWriter, r *http.Request, style *apiStyle) ([]byte, *classifier.Classifier, *byteHold, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, nil, nil, &httpError{http.StatusMethodNotAllowed, codes.Unimplemented,
			fmt.Sprintf("method %s: not allowed, want POST", r.Method)}
	}
	if err := style.authenticate(r, a.keys); err != nil {
		return nil, nil, nil, err
	}
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, nil, nil, err
	}
	c := a.cs.current.Load()
	limit := bodyLimit(c)
	var hold *byteHold
	if a.bytes != nil {
		n := limit // a body of unknown length may be as long as the limit allows
		if r.ContentLength >= 0 {
			n = min(r.ContentLength, limit)
		}
		var err error
		if hold, err = a.bytes.hold(n); err != nil {
			w.Header().Set("Retry-After", "1")
			return nil, nil, nil, err
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		err = &httpError{http.StatusRequestEntityTooLarge, codes.ResourceExhausted,
			fmt.Sprintf("request body: over the limit of %d bytes", limit)}
	case err != nil:
		err = status.Errorf(codes.InvalidArgument, "read request body: %v", err)
	case !utf8.Valid(body):
		a.cs.metrics.rejected.WithLabelValues("invalid_utf8").Inc()
		err = status.Error(codes.InvalidArgument, "request body: invalid UTF-8")
	}
	if err != nil {
		hold.drop()
		return nil, nil, nil, err
	}
	return body, c, hold, nil
}

// bodyLimit is the largest request body accepted: room for the largest
// text c accepts even with every byte JSON-escaped (\u0001 is 6 bytes), and
// never less than a gRPC request may carry.
func bodyLimit(c *classifier.Classifier) int64 { return bodyLimitFor(c.Options().MaxTextBytes) }

// bodyLimitFor is bodyLimit for texts of at most maxTextBytes.
func bodyLimitFor(maxTextBytes int) int64 {
	return max(grpcMaxRecvBytes, 6*int64(maxTextBytes)+64<<10)
}

// checkContentType accepts JSON in UTF-8, or no content type at all.
func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return &httpError{http.StatusUnsupportedMediaType, codes.InvalidArgument,
		fmt.Sprintf("Content-Type %q: unsupported, want application/json", ct)}
}

// classify is POST /v1/classify: the gRPC Classify call in protojson.
func (a *httpAPI) classify(ctx context.Context, _ *classifier.Classifier, body []byte) ([]byte, error) {
	var req kasuharav1.ClassifyRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "request body: %v", err)
	}
	resp, err := a.cs.Classify(ctx, &req)
	if err != nil {
		return nil, err
	}
	return marshalResponse(resp)
}

// classifyBatch is POST /v1/classify:batch: the gRPC ClassifyBatch call in
// protojson.
func (a *httpAPI) classifyBatch(ctx context.Context, _ *classifier.Classifier, body []byte) ([]byte, error) {
	var req kasuharav1.ClassifyBatchRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "request body: %v", err)
	}
	resp, err := a.cs.ClassifyBatch(ctx, &req)
	if err != nil {
		return nil, err
	}
	return marshalResponse(resp)
}

// marshalResponse is the protojson form of one of kasuhara's responses.
func marshalResponse(m proto.Message) ([]byte, error) {
	b, err := responseJSON.Marshal(m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "marshal response: %v", err)
	}
	return b, nil
}

// marshalJSON is json.Marshal without HTML escaping: matched text and
// messages keep their < > & as written.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, status.Errorf(codes.Internal, "marshal response: %v", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeJSON writes v as a JSON body with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := marshalJSON(v)
	if err != nil { // only our own types get here; none fails to marshal
		code, b = http.StatusInternalServerError, []byte(`{"code":13,"message":"internal error"}`)
	}
	writeBody(w, code, b)
}

func writeBody(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte("\n"))
}

// statusRecorder remembers the status code written through it, and gives
// the response writeTimeout from its first byte.
type statusRecorder struct {
	http.ResponseWriter
	code         int
	writeTimeout time.Duration // 0: none
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
		if s.writeTimeout > 0 {
			// Not every ResponseWriter supports deadlines; the server's does.
			_ = http.NewResponseController(s.ResponseWriter).SetWriteDeadline(time.Now().Add(s.writeTimeout))
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// APIKeys are the keys --api-key-file lists. A nil *APIKeys accepts any
// key, or none.
type APIKeys struct {
	sums map[[sha256.Size]byte]bool // keys are compared by hash, in constant time per lookup
}

// accepts reports whether key may call the API.
func (k *APIKeys) accepts(key string) bool {
	return k == nil || k.sums[sha256.Sum256([]byte(key))]
}

// LoadAPIKeys reads --api-key-file: one key a line; blank lines and lines
// starting with # are skipped. An empty path means no file: nil, any key.
// A file that lists no key is an error rather than a lock-out.
func LoadAPIKeys(path string) (*APIKeys, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--api-key-file: %w", err)
	}
	defer f.Close()
	k := &APIKeys{sums: map[[sha256.Size]byte]bool{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k.sums[sha256.Sum256([]byte(line))] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--api-key-file %s: %w", path, err)
	}
	if len(k.sums) == 0 {
		return nil, fmt.Errorf("--api-key-file %s: no keys, want one a line", path)
	}
	return k, nil
}

// categoryGroup is what a Perspective attribute or an OpenAI category is
// scored from: some of kasuhara's categories, combined as the classifier
// combines weights (noisy-OR), or, when nil, every harassment category,
// which is the response's harassment score. An empty, non-nil group is
// nothing kasuhara judges: always 0.
type categoryGroup []lexicon.Category

// harassmentCategories is every category that counts toward harassment:
// the nil group, scored as the response's harassment score.
var harassmentCategories categoryGroup

// has reports whether matches of category c count toward g.
func (g categoryGroup) has(c lexicon.Category) bool {
	if g == nil {
		return c.Harassment()
	}
	return slices.Contains(g, c)
}

// toxicity is the highest generic toxicity of g's categories in resp.
func (g categoryGroup) toxicity(resp *kasuharav1.ClassifyResponse) float64 {
	t := 0.0
	for c, v := range resp.GetToxicity() {
		if g.has(lexicon.Category(c)) {
			t = max(t, v)
		}
	}
	return t
}

// score is g's score in resp, in [0,1].
func (g categoryGroup) score(resp *kasuharav1.ClassifyResponse) float64 {
	if g == nil {
		return resp.GetScore()
	}
	keep, scored, last := 1.0, 0, 0.0
	for _, c := range g {
		if s := resp.GetCategoryScores()[string(c)]; s > 0 {
			keep, scored, last = keep*(1-s), scored+1, s
		}
	}
	if scored <= 1 {
		return last // exactly the one category's score: 1-(1-s) need not be s
	}
	return 1 - keep
}

// span is a stretch of the request text that a group's matches cover, in
// UTF-16 code units (Perspective's unit), with the heaviest weight there.
type span struct {
	begin, end int
	weight     float64
}

// spans lists the places where g's matches fired, ordered by position; a
// stretch matched by several entries is listed once with the heaviest
// weight. text is the request text the offsets index.
func (g categoryGroup) spans(resp *kasuharav1.ClassifyResponse, text string) []span {
	var out []span
	var units []int // units[i]: UTF-16 code units before code point i
	for _, m := range resp.GetMatches() {
		if !g.has(lexicon.Category(m.GetCategory())) {
			continue
		}
		if units == nil {
			units = utf16Offsets(text)
		}
		s := span{units[min(int(m.GetStart()), len(units)-1)], units[min(int(m.GetEnd()), len(units)-1)], m.GetWeight()}
		if i := slices.IndexFunc(out, func(o span) bool { return o.begin == s.begin && o.end == s.end }); i >= 0 {
			out[i].weight = math.Max(out[i].weight, s.weight)
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b span) int {
		if a.begin != b.begin {
			return a.begin - b.begin
		}
		return a.end - b.end
	})
	return out
}

// utf16Offsets maps code point offsets of text to UTF-16 code unit offsets:
// the result has one entry per code point, and one for the end.
func utf16Offsets(text string) []int {
	out := make([]int, 0, utf8.RuneCountInString(text)+1)
	n := 0
	for _, r := range text {
		out = append(out, n)
		n += utf16.RuneLen(r)
	}
	return append(out, n)
}
