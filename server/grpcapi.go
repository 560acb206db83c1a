package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kasuhara/kasuhara/classifier"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// DefaultMaxBatch is the most messages one ClassifyBatch call may carry;
// DefaultMaxBatchTextBytes the most text they may carry together, once
// normalised: about 4 s of one CPU at the slowest text there is, 1.6 s of
// ordinary text.
const (
	DefaultMaxBatch          = 256
	DefaultMaxBatchTextBytes = 4 << 20
)

// classifierServer adapts a classifier.Classifier to the gRPC API: it
// validates requests, maps errors to status codes and counts results. It is
// the only code that knows about gRPC codes.
type classifierServer struct {
	kasuharav1.UnimplementedClassifierServer
	current  *atomic.Pointer[classifier.Classifier]
	metrics  *metrics
	maxBatch int
	log      *slog.Logger
	// adm is the in-flight limit; a stream takes a slot for each message
	// while it is classified, never while it waits for the next one.
	adm *admission
	// streamIdle ends a stream that sends no message for this long (0: never).
	streamIdle time.Duration
	// streamSend ends a stream whose client has not taken an answer this
	// long after it was ready to send (0: never).
	streamSend time.Duration
	// workers bounds the messages classified at once; nil: no bound.
	workers *workers
	// classifyTimeout bounds one message's classification, from when it
	// gets a worker (0: no bound); classifyText, when set, stands in for
	// ClassifyContext in tests.
	classifyTimeout time.Duration
	classifyText    func(*classifier.Classifier, context.Context, string) (classifier.Result, error)
	// bytes is the request byte budget; a Classify or ClassifyBatch holds
	// readBytes of it while its request is read. nil: no budget.
	bytes     *requestBytes
	readBytes readBytes
	// maxBatchText bounds a batch's texts together, normalised; 0: none.
	maxBatchText int
	// unary is the interceptor chain Classify and ClassifyBatch run once
	// their request is read, as grpc-go runs it for unary calls; nil: none.
	unary grpc.UnaryServerInterceptor
}

// readBytes is what a call holds of the byte budget while its request is
// read: the most a request of its kind may usefully be.
type readBytes struct {
	one   int64 // Classify: a text of --max-text-bytes and its id
	batch int64 // ClassifyBatch: --max-recv-bytes
}

// classifierServiceDesc is the generated Classifier service with Classify
// and ClassifyBatch served as streams, which is the same on the wire: grpc-go
// reads a unary call's request before any handler runs, a stream's only
// when the handler asks, after the byte budget has made room for it.
func classifierServiceDesc() grpc.ServiceDesc {
	d := kasuharav1.Classifier_ServiceDesc
	d.Methods = nil
	d.Streams = append([]grpc.StreamDesc{
		unaryAsStream("Classify", (*classifierServer).Classify, func(s *classifierServer) int64 { return s.readBytes.one }),
		unaryAsStream("ClassifyBatch", (*classifierServer).ClassifyBatch, func(s *classifierServer) int64 { return s.readBytes.batch }),
	}, d.Streams...)
	return d
}

// unaryAsStream serves the unary method name as a stream handler that reads
// its one request within the byte budget, then calls handle.
func unaryAsStream[Req any, PReq interface {
	*Req
	proto.Message
}, Resp proto.Message](name string, handle func(*classifierServer, context.Context, PReq) (Resp, error), readBytes func(*classifierServer) int64) grpc.StreamDesc {
	return grpc.StreamDesc{StreamName: name, Handler: func(srv any, ss grpc.ServerStream) error {
		s := srv.(*classifierServer)
		req := PReq(new(Req))
		hold, err := s.recvRequest(ss, req, readBytes(s))
		defer hold.drop()
		if err != nil {
			return err
		}
		call := func(ctx context.Context, req any) (any, error) { return handle(s, ctx, req.(PReq)) }
		var resp any
		if s.unary != nil {
			resp, err = s.unary(ss.Context(), req, &grpc.UnaryServerInfo{Server: s, FullMethod: classifierMethodPrefix + name}, call)
		} else {
			resp, err = call(ss.Context(), req)
		}
		if err != nil {
			return err
		}
		return ss.SendMsg(resp)
	}}
}

// lazyUnary reports whether method is one classifierServiceDesc serves as a
// stream although it is unary.
func lazyUnary(method string) bool {
	return method == kasuharav1.Classifier_Classify_FullMethodName || method == kasuharav1.Classifier_ClassifyBatch_FullMethodName
}

// exceptLazyUnary is si for every stream but the unary methods served as
// streams, which run the unary interceptors instead.
func exceptLazyUnary(si grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if lazyUnary(info.FullMethod) {
			return handler(srv, ss)
		}
		return si(srv, ss, info, handler)
	}
}

// chainUnary runs interceptors outermost first, then the handler.
func chainUnary(interceptors ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		h := handler
		for i := len(interceptors) - 1; i >= 0; i-- {
			next, ic := h, interceptors[i]
			h = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
		}
		return h(ctx, req)
	}
}

// recvRequest reads a unary call's request into req, holding readBytes of
// the budget while it is read and its size once decoded. A request larger
// than readBytes is refused InvalidArgument without being decoded: grpc-go
// has one receive limit per server (--max-recv-bytes, which a batch needs),
// so such a request has been read, but it costs no decoded copy.
func (s *classifierServer) recvRequest(ss grpc.ServerStream, req proto.Message, readBytes int64) (*byteHold, error) {
	var hold *byteHold
	if s.bytes != nil {
		var err error
		if hold, err = s.bytes.holdWithin(ss.Context(), readBytes, requestBytesWait); err != nil {
			return nil, err
		}
	}
	sized := &sizedRequest{msg: req, limit: int(readBytes)}
	if err := ss.RecvMsg(sized); err != nil {
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.InvalidArgument, "request: none sent, want one")
		}
		return hold, s.recvError(err)
	}
	if sized.size > 0 {
		s.metrics.rejected.WithLabelValues("too_long").Inc()
		return hold, status.Errorf(codes.InvalidArgument, "request: %d bytes, want <= %d (--max-text-bytes, and 1 KiB for the id)", sized.size, sized.limit)
	}
	hold.shrink(int64(proto.Size(req)))
	return hold, nil
}

// sizedRequest is what recvRequest reads a unary request into: the request
// and the most it may be. requestCodec decodes it only within that;
// otherwise it records the size and leaves the request empty.
type sizedRequest struct {
	msg   proto.Message
	limit int // 0: any size
	size  int // the request's size, once it is found over limit
}

// requestCodec is the gRPC server's codec: protobuf's, except that a
// sizedRequest over its limit is not decoded.
type requestCodec struct{ encoding.CodecV2 }

func (c requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*sizedRequest)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	if n := data.Len(); r.limit > 0 && n > r.limit {
		r.size = n
		return nil
	}
	return c.CodecV2.Unmarshal(data, r.msg)
}

func (s *classifierServer) Classify(ctx context.Context, req *kasuharav1.ClassifyRequest) (*kasuharav1.ClassifyResponse, error) {
	c := s.current.Load()
	if err := s.validate(c, "text", req.GetText()); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil { // expired or cancelled while it waited
		return nil, status.FromContextError(err).Err()
	}
	return s.classify(ctx, c, "text", req)
}

func (s *classifierServer) ClassifyBatch(ctx context.Context, req *kasuharav1.ClassifyBatchRequest) (*kasuharav1.ClassifyBatchResponse, error) {
	reqs := req.GetRequests()
	switch {
	case len(reqs) == 0:
		return nil, status.Error(codes.InvalidArgument, "requests: empty, want 1 or more")
	case len(reqs) > s.maxBatch:
		return nil, status.Errorf(codes.InvalidArgument, "requests: %d items, want <= %d", len(reqs), s.maxBatch)
	}
	c := s.current.Load() // one lexicon answers the whole batch
	if err := s.validateBatch(c, "requests", len(reqs), func(i int) (string, string) {
		return fmt.Sprintf("requests[%d].text", i), reqs[i].GetText()
	}); err != nil {
		return nil, err
	}
	var err error
	resp := &kasuharav1.ClassifyBatchResponse{Responses: make([]*kasuharav1.ClassifyResponse, len(reqs))}
	for i, r := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		if resp.Responses[i], err = s.classify(ctx, c, fmt.Sprintf("requests[%d].text", i), r); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// ClassifyStream answers each message in order. A stream holds an
// in-flight slot only while one of its messages is classified, so open
// streams that send nothing cannot lock other clients out; one that sends
// nothing for streamIdle is ended DeadlineExceeded, and so is one whose
// client leaves an answer unread for streamSend.
func (s *classifierServer) ClassifyStream(stream kasuharav1.Classifier_ClassifyStreamServer) error {
	ctx := stream.Context()
	send := s.newStreamSender(stream)
	defer send.stop()
	// Recv runs on its own goroutine so that the idle timer can end the
	// stream while Recv waits; returning cancels ctx, which ends Recv.
	type received struct {
		req *kasuharav1.ClassifyRequest
		err error
	}
	recv := make(chan received)
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				err = s.recvError(err) // counted here: the stream may be over before the handler hears
			}
			select {
			case recv <- received{req, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var idle <-chan time.Time
	var timer *time.Timer
	if s.streamIdle > 0 {
		timer = time.NewTimer(s.streamIdle)
		defer timer.Stop()
		idle = timer.C
	}
	for {
		var r received
		select {
		case r = <-recv:
		case <-idle:
			return status.Errorf(codes.DeadlineExceeded, "stream idle: no message for %v, want one within --stream-idle-timeout", s.streamIdle)
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
		if errors.Is(r.err, io.EOF) {
			return nil
		}
		if r.err != nil {
			return r.err
		}
		// Messages already buffered are not worked through once the
		// deadline has passed or the client has gone.
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		c := s.current.Load()
		field := fmt.Sprintf("request id %q: text", r.req.GetId())
		if err := s.validate(c, field, r.req.GetText()); err != nil {
			return err
		}
		resp, err := s.classifyAdmitted(ctx, c, field, r.req)
		if err != nil {
			return err
		}
		if err := send.send(ctx, resp); err != nil {
			return err
		}
		if timer != nil {
			timer.Reset(s.streamIdle)
		}
	}
}

// streamSender sends a stream's answers from a goroutine of its own, so
// that the handler can end the stream when a client stops reading: grpc-go
// blocks Send once the client's flow control window and the stream's write
// quota are full, for as long as the client does not read, and nothing but
// the handler's return ends it. Returning ends the stream, which ends the
// blocked Send and frees the answers queued behind it.
type streamSender struct {
	timeout time.Duration // 0: never
	out     chan *kasuharav1.ClassifyResponse
	done    chan error // one result for each answer taken from out
}

func (s *classifierServer) newStreamSender(stream kasuharav1.Classifier_ClassifyStreamServer) *streamSender {
	ss := &streamSender{timeout: s.streamSend, out: make(chan *kasuharav1.ClassifyResponse), done: make(chan error, 1)}
	go func() {
		for resp := range ss.out {
			err := stream.Send(resp)
			ss.done <- err
			if err != nil {
				return
			}
		}
	}()
	return ss
}

// send sends resp, or fails DeadlineExceeded when the client has not taken
// it within the timeout. The sender is idle when it is called: each send
// waits for the one before it.
func (ss *streamSender) send(ctx context.Context, resp *kasuharav1.ClassifyResponse) error {
	ss.out <- resp
	var timeout <-chan time.Time
	if ss.timeout > 0 {
		t := time.NewTimer(ss.timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case err := <-ss.done:
		return err
	case <-timeout:
		return status.Errorf(codes.DeadlineExceeded, "stream not read: an answer waited %v for the client to take it, want answers read as they come", ss.timeout)
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// stop ends the sender once any send under way returns.
func (ss *streamSender) stop() { close(ss.out) }

// recvError is err from reading a request, counting a request grpc-go
// could not decode because a string in it is not UTF-8 (proto3 strings must
// be; only non-Go clients can send one) as invalid_utf8, as the HTTP routes
// count theirs. grpc-go has already answered it Internal (its RecvMsg writes
// the status of a decoding error itself), and names it only in its message.
func (s *classifierServer) recvError(err error) error {
	if st := status.Convert(err); st.Code() == codes.Internal && strings.Contains(st.Message(), "invalid UTF-8") {
		s.metrics.rejected.WithLabelValues("invalid_utf8").Inc()
	}
	return err
}

// classifyAdmitted classifies one stream message in an in-flight slot of
// its own, refusing it ResourceExhausted when none is free.
func (s *classifierServer) classifyAdmitted(ctx context.Context, c *classifier.Classifier, field string, req *kasuharav1.ClassifyRequest) (*kasuharav1.ClassifyResponse, error) {
	if s.adm != nil {
		if !s.adm.acquire() {
			return nil, s.adm.refuse()
		}
		defer s.adm.release()
	}
	return s.classify(ctx, c, field, req)
}

// validate returns an InvalidArgument status naming field, or nil: text
// must be what the classifier accepts, and no longer than --max-text-bytes
// once normalised (NFKC), since normalising is where text grows (㌗ is six
// times its size) and classifying costs by the normalised size.
func (s *classifierServer) validate(c *classifier.Classifier, field, text string) error {
	_, err := s.validateText(c, field, text)
	return err
}

// validateText is validate, returning also the text's normalised size.
func (s *classifierServer) validateText(c *classifier.Classifier, field, text string) (int, error) {
	err := c.Validate(text)
	if err == nil {
		limit := c.Options().MaxTextBytes
		n := normalisedBytes(text, limit)
		if n <= limit {
			return n, nil
		}
		s.metrics.rejected.WithLabelValues("too_long").Inc()
		return 0, status.Errorf(codes.InvalidArgument, "%s: over %d bytes once normalised (NFKC), want <= %d (--max-text-bytes)", field, limit, limit)
	}
	var (
		tooLong *classifier.TooLongError
		badUTF8 *classifier.InvalidUTF8Error
	)
	switch {
	case errors.As(err, &tooLong):
		s.metrics.rejected.WithLabelValues("too_long").Inc()
	case errors.As(err, &badUTF8):
		s.metrics.rejected.WithLabelValues("invalid_utf8").Inc()
	default:
		s.metrics.rejected.WithLabelValues("empty").Inc()
	}
	return 0, status.Errorf(codes.InvalidArgument, "%s: %v", field, err)
}

// validateBatch validates the n texts of a batch, item(i) giving each one's
// field name and text, and their normalised sizes together against
// --max-batch-text-bytes, which bounds the work one call may ask for.
// list names the batch's field in errors.
func (s *classifierServer) validateBatch(c *classifier.Classifier, list string, n int, item func(int) (field, text string)) error {
	total := 0
	for i := range n {
		field, text := item(i)
		size, err := s.validateText(c, field, text)
		if err != nil {
			return err
		}
		if total += size; s.maxBatchText > 0 && total > s.maxBatchText {
			return status.Errorf(codes.InvalidArgument, "%s: over %d text bytes once normalised by item %d, want <= %d (--max-batch-text-bytes)",
				list, s.maxBatchText, i, s.maxBatchText)
		}
	}
	return nil
}

// normalisedBytes is the size of text in NFKC, counted without building
// it, and only up to a little past limit: text already in NFKC (most is)
// costs one quick scan.
func normalisedBytes(text string, limit int) int {
	q := norm.NFKC.QuickSpanString(text)
	if q == len(text) {
		return q
	}
	n := q
	var it norm.Iter
	for it.InitString(norm.NFKC, text[q:]); !it.Done() && n <= limit; {
		n += len(it.Next())
	}
	return n
}

// classify labels a request that validate accepted, on one of the workers
// (waiting for one at most until ctx ends), within classifyTimeout of
// getting it: a message that takes longer is given up and refused
// ResourceExhausted naming field and the limit, so that no one message,
// however its text is made, holds its batch or its worker longer. Classify
// fails otherwise only on what Validate rejects, so another error is a bug:
// Internal, details logged (never the text).
func (s *classifierServer) classify(ctx context.Context, c *classifier.Classifier, field string, req *kasuharav1.ClassifyRequest) (*kasuharav1.ClassifyResponse, error) {
	if s.workers != nil {
		if err := s.workers.acquire(ctx); err != nil {
			return nil, err
		}
		defer func() {
			s.workers.release()
			// To the back of the run queue, so that the goroutines the
			// network woke (health checks, scrapes, refusals) are not left
			// behind worker after worker handing over to the next.
			runtime.Gosched()
		}()
	}
	cctx := ctx
	if s.classifyTimeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, s.classifyTimeout)
		defer cancel()
	}
	classify := (*classifier.Classifier).ClassifyContext
	if s.classifyText != nil {
		classify = s.classifyText
	}
	start := time.Now()
	r, err := classify(c, cctx, req.GetText())
	d := time.Since(start)
	s.metrics.duration.Observe(d.Seconds())
	if s.workers != nil {
		s.workers.observe(d)
	}
	switch {
	case err == nil:
	case ctx.Err() != nil: // the call's own deadline, or its client gone
		return nil, status.FromContextError(ctx.Err()).Err()
	case errors.Is(err, context.DeadlineExceeded):
		s.metrics.rejected.WithLabelValues("too_slow").Inc()
		return nil, status.Errorf(codes.ResourceExhausted,
			"%s: classifying took over %v, want <= %v a message; shorten or split the text", field, s.classifyTimeout, s.classifyTimeout)
	default:
		s.log.Error("classify after validate", "err", err)
		return nil, status.Error(codes.Internal, "internal error")
	}
	s.metrics.messages.WithLabelValues(r.Label.String()).Inc()
	return ClassifyResponse(req.GetId(), r), nil
}

// ClassifyResponse is r as the Classifier API answers it, for the request
// id.
func ClassifyResponse(id string, r classifier.Result) *kasuharav1.ClassifyResponse {
	resp := &kasuharav1.ClassifyResponse{
		Id: id, Label: kasuharav1.Label(r.Label), Score: r.Score, LexiconVersion: r.LexiconVersion,
		CategoryScores: make(map[string]float64, len(r.Categories)),
		Matches:        make([]*kasuharav1.Match, len(r.Matches)),
	}
	for c, v := range r.Categories {
		resp.CategoryScores[string(c)] = v
	}
	for c, v := range r.Toxicity {
		if resp.Toxicity == nil {
			resp.Toxicity = make(map[string]float64, len(r.Toxicity))
		}
		resp.Toxicity[string(c)] = v
	}
	for i, m := range r.Matches {
		resp.Matches[i] = &kasuharav1.Match{
			Category: string(m.Category), Entry: m.Entry, Text: m.Text,
			Start: int32(m.Start), End: int32(m.End), Weight: m.Weight, Modifiers: classifier.ModifierNames(m.Modifiers),
		}
	}
	return resp
}
