// Package mailfilter reads an RFC 5322 message the way a mail gateway must:
// it decodes MIME (ISO-2022-JP, Shift_JIS, EUC-JP and UTF-8; quoted-printable
// and base64; RFC 2047 subjects), prefers text/plain and otherwise turns HTML
// into text, keeps only what the sender wrote (quoted replies, forwarded
// history and signatures are left out), has that text classified, and adds
// verdict headers at the top of the message, leaving every other byte as it
// was.
//
// It reads leniently, as the recipient's mail program will: a broken part,
// bad base64, an unterminated quote or a missing boundary loses only what
// cannot be decoded, and an X-Kasuhara-Skipped header names it; the rest is
// scored. Charsets are weighed against the bytes, since senders mislabel
// them.
//
// The package knows nothing about classifiers, flags or servers: it is given
// a ClassifyFunc. A message with nothing it can read gets an
// X-Kasuhara-Error header instead of a verdict; it is never refused. The
// milter that runs it for Postfix or Sendmail is package mailfilter/milter.
package mailfilter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The header fields a Filter adds.
const (
	HeaderLabel      = "X-Kasuhara-Label"
	HeaderScore      = "X-Kasuhara-Score"
	HeaderCategories = "X-Kasuhara-Categories"
	HeaderLexicon    = "X-Kasuhara-Lexicon"
	HeaderError      = "X-Kasuhara-Error"
	HeaderSkipped    = "X-Kasuhara-Skipped"
)

// HeaderPrefix starts the name of every header field a Filter adds.
const HeaderPrefix = "X-Kasuhara-"

// DefaultMaxTextBytes is the most text a Filter passes to its ClassifyFunc
// when Filter.MaxTextBytes is zero.
const DefaultMaxTextBytes = 64 << 10

// Verdict is what a classifier said about a message's text.
type Verdict struct {
	// Label is routine, escalate or harassment.
	Label string
	// Score is the harassment score in [0,1].
	Score float64
	// Categories names the categories that matched, highest score first.
	Categories []string
	// Lexicon is the version of the lexicon that decided.
	Lexicon string
}

// ClassifyFunc classifies the text of one message. The text is valid UTF-8,
// not empty and at most Filter.MaxTextBytes long.
type ClassifyFunc func(ctx context.Context, text string) (Verdict, error)

// Reason says why a message has no verdict; it is the first word of the
// X-Kasuhara-Error header.
type Reason string

// The reasons a message is not scored.
const (
	// ReasonUnparseable: there is no text because every piece that could
	// have held some was skipped (see Skipped).
	ReasonUnparseable Reason = "unparseable"
	// ReasonNoText: no subject and no text part with anything in it.
	ReasonNoText Reason = "no-text"
	// ReasonTooLarge: the message is over the size cap and was not read.
	ReasonTooLarge Reason = "too-large"
	// ReasonClassifyFailed: the ClassifyFunc failed (a remote server that
	// cannot be reached, a lexicon that did not load).
	ReasonClassifyFailed Reason = "classify-failed"
)

var reasonText = map[Reason]string{
	ReasonUnparseable:    "not scored: no part of the message could be read",
	ReasonNoText:         "not scored: the message has no text",
	ReasonTooLarge:       "not scored: the message is over the size limit",
	ReasonClassifyFailed: "not scored: the classifier failed",
}

// Error is why a message has no verdict. Err never carries message text, so
// an Error may be logged.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Outcome is the result of checking one message: a Verdict, or an *Error
// saying why there is none; and what of the message could not be read.
type Outcome struct {
	Verdict *Verdict
	Err     error
	// Skipped names the pieces of the message that were not read, with a
	// verdict on the rest or without one.
	Skipped []Skipped
}

// TooLarge is the Outcome for a message over limit bytes, which is not read.
func TooLarge(limit int64) Outcome {
	return Outcome{Err: &Error{Reason: ReasonTooLarge, Err: fmt.Errorf("over %d bytes", limit)}}
}

// Failed is the Outcome for a message that could not be checked at all, for
// example because no classifier could be built.
func Failed(err error) Outcome {
	return Outcome{Err: &Error{Reason: ReasonClassifyFailed, Err: err}}
}

// Harassment reports whether o is a harassment verdict.
func (o Outcome) Harassment() bool {
	return o.Verdict != nil && o.Verdict.Label == "harassment"
}

// SkippedValue is o's X-Kasuhara-Skipped value (part numbers and reasons, never
// message text), or "".
func (o Outcome) SkippedValue() string {
	for _, f := range o.Fields() {
		if f.Name == HeaderSkipped {
			return f.Value
		}
	}
	return ""
}

// Field is one header field.
type Field struct {
	Name, Value string
}

// Fields returns the header fields that record o: the four verdict fields,
// or X-Kasuhara-Error; then X-Kasuhara-Skipped if anything was skipped.
// Every value is printable ASCII.
func (o Outcome) Fields() []Field {
	fields := o.verdictFields()
	if len(o.Skipped) > 0 {
		fields = append(fields, Field{HeaderSkipped, asciiValue(skippedValue(o.Skipped))})
	}
	return fields
}

// maxSkippedValue is about how long an X-Kasuhara-Skipped value may grow
// before the rest is only counted, to keep it within a header line.
const maxSkippedValue = 600

// skippedValue lists what was skipped, "; " between, as long as it stays
// short, then how many more: "part 2: bad base64; part 3: bad base64;
// and 40 more".
func skippedValue(skipped []Skipped) string {
	var b strings.Builder
	for i, s := range skipped {
		if b.Len() > maxSkippedValue {
			fmt.Fprintf(&b, "; and %d more", len(skipped)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s.String())
	}
	return b.String()
}

func (o Outcome) verdictFields() []Field {
	if o.Verdict == nil {
		var e *Error
		if !errors.As(o.Err, &e) {
			e = &Error{Reason: ReasonClassifyFailed}
		}
		text, ok := reasonText[e.Reason]
		if !ok {
			text = "not scored"
		}
		v := string(e.Reason) + "; " + text
		if e.Reason == ReasonTooLarge && e.Err != nil {
			v += " (" + e.Err.Error() + ")"
		}
		return []Field{{HeaderError, asciiValue(v)}}
	}
	v := o.Verdict
	cats := "none"
	if len(v.Categories) > 0 {
		cats = strings.Join(v.Categories, ", ")
	}
	return []Field{
		{HeaderLabel, asciiValue(v.Label)},
		{HeaderScore, strconv.FormatFloat(clamp01(v.Score), 'f', -1, 64)},
		{HeaderCategories, asciiValue(cats)},
		{HeaderLexicon, asciiValue(v.Lexicon)},
	}
}

// Reason returns the reason o has no verdict, or "" if it has one.
func (o Outcome) Reason() Reason {
	var e *Error
	if o.Verdict == nil && errors.As(o.Err, &e) {
		return e.Reason
	}
	return ""
}

func clamp01(x float64) float64 {
	switch {
	case x < 0 || x != x:
		return 0
	case x > 1:
		return 1
	}
	return x
}

// asciiValue keeps a header value to printable ASCII on one line: any other
// byte becomes '?'. Values come from the classifier, never from the message,
// so this only guards against a misbehaving remote server.
func asciiValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// Filter checks messages with one ClassifyFunc. It is safe for concurrent
// use if its ClassifyFunc is.
type Filter struct {
	// Classify labels the text of a message.
	Classify ClassifyFunc
	// MaxTextBytes is the most text passed to Classify; longer text is cut
	// at a line (or else character) boundary. Zero means
	// DefaultMaxTextBytes.
	MaxTextBytes int
}

// Check reads msg, classifies what its sender wrote and returns the verdict
// or why there is none, and what it could not read.
func (f *Filter) Check(ctx context.Context, msg []byte) Outcome {
	max := f.MaxTextBytes
	if max <= 0 {
		max = DefaultMaxTextBytes
	}
	text, skipped, err := read(msg, max)
	if err != nil {
		return Outcome{Err: err, Skipped: skipped}
	}
	text = truncate(text, max)
	v, err := f.Classify(ctx, text)
	if err != nil {
		return Outcome{Err: &Error{Reason: ReasonClassifyFailed, Err: err}, Skipped: skipped}
	}
	return Outcome{Verdict: &v, Skipped: skipped}
}

// Apply checks msg and returns it with the outcome's header fields added at
// the top (see AddFields).
func (f *Filter) Apply(ctx context.Context, msg []byte) ([]byte, Outcome) {
	o := f.Check(ctx, msg)
	return AddFields(msg, o.Fields()), o
}

// truncate cuts s to at most max bytes, at the last line break if there is
// one in the second half, otherwise at a character boundary.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !startsRune(s[cut]) {
		cut--
	}
	if nl := strings.LastIndexByte(s[:cut], '\n'); nl >= max/2 {
		cut = nl
	}
	return s[:cut]
}

func startsRune(b byte) bool { return b&0xc0 != 0x80 }
