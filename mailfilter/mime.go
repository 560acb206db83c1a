package mailfilter

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"mime"
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// The MIME reading here is lenient throughout, because a gateway must read
// what the recipient's mail program will show: a part is never refused
// for a broken header line, an unterminated quote, a missing boundary or
// bad base64. What cannot be read is left out piece by piece, and the
// caller names it.

// entity is one MIME entity read from raw bytes: its header and its body,
// still transfer-encoded. body is a slice of the message, not a copy.
type entity struct {
	header textproto.Header
	body   []byte
}

// readEntity splits b at the end of its header block: the first blank
// line, or else the first line that is neither a field nor the
// continuation of one, which starts the body (as Postfix and most mail
// programs read it).
func readEntity(b []byte) entity {
	head, body := b, []byte(nil)
	eachLine(b, func(i int, line []byte, next int) bool {
		switch continued := len(line) > 0 && (line[0] == ' ' || line[0] == '\t'); {
		case len(line) == 0:
			head, body = b[:i], b[next:]
		case (continued && i == 0) || (!continued && !isField(line)):
			head, body = b[:i], b[i:]
		default:
			return true
		}
		return false
	})
	// readEntity let through only lines textproto accepts.
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	return entity{header: h, body: body}
}

// eachLine calls f with where each line of b starts, the line without its
// line break (LF or CRLF), and where the next one starts, until f returns
// false.
func eachLine(b []byte, f func(start int, line []byte, next int) bool) {
	for i := 0; i < len(b); {
		line, next := b[i:], len(b)
		if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
			line, next = line[:nl], i+nl+1
		}
		if !f(i, bytes.TrimSuffix(line, []byte("\r")), next) {
			return
		}
		i = next
	}
}

// isField reports whether line starts a header field: a name of printable
// ASCII, optionally followed by blanks, then a colon.
func isField(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// mediaType parses a Content-Type or Content-Disposition value. Where
// mime.ParseMediaType refuses one (an unterminated quote, a stray
// semicolon, a duplicate parameter), it is read again leniently: the type
// up to the first ';', and each name=value after it with any quotes
// dropped. The type is lower-case; "" if v is empty.
func mediaType(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "", map[string]string{}
	}
	if t, params, err := mime.ParseMediaType(v); err == nil {
		return t, params
	}
	t, rest, _ := strings.Cut(v, ";")
	params := map[string]string{}
	for _, p := range strings.Split(rest, ";") {
		name, value, ok := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			continue
		}
		value = strings.TrimSpace(value)
		value = strings.TrimPrefix(value, `"`)
		if q := strings.IndexByte(value, '"'); q >= 0 {
			value = value[:q]
		}
		if _, seen := params[name]; !seen {
			params[name] = strings.TrimSpace(value)
		}
	}
	return strings.ToLower(strings.TrimSpace(t)), params
}

// contentType returns e's media type and parameters. A missing or
// unreadable type is text/plain, as RFC 2045 section 5.2 says.
func (e entity) contentType() (string, map[string]string) {
	t, params := mediaType(e.header.Get("Content-Type"))
	if !strings.Contains(t, "/") {
		t = "text/plain"
	}
	return t, params
}

// decodedBody returns e's body with its transfer encoding undone, and
// false if some of it was bad base64 (what decoded is returned). An
// unknown transfer encoding is read as the raw bytes.
func (e entity) decodedBody() ([]byte, bool) {
	switch strings.ToLower(strings.TrimSpace(e.header.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return decodeBase64(e.body)
	case "quoted-printable":
		return decodeQP(e.body), true
	}
	return e.body, true
}

// decodeBase64 decodes base64 leniently and returns false if some of it
// was bad. It decodes through padding and past it (some mailers join
// encoded pieces). A character outside the alphabet (RFC 2045 section 6.8
// says to ignore them, but what a stray one leaves behind decodes to
// garbage) loses the group it falls in and the rest of its line; decoding
// goes on at the next line, so damage stays local.
func decodeBase64(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b)*3/4)
	group := make([]byte, 0, 4)
	ok, skipLine := true, false
	flush := func() {
		switch len(group) {
		case 0:
		case 1:
			ok = false
		default:
			out, _ = base64.RawStdEncoding.AppendDecode(out, group)
		}
		group = group[:0]
	}
	for _, c := range b {
		switch {
		case c == '\n':
			skipLine = false
		case skipLine, c == ' ', c == '\t', c == '\r':
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			if group = append(group, c); len(group) == 4 {
				flush()
			}
		case c == '=':
			flush()
		default:
			ok, skipLine, group = false, true, group[:0]
		}
	}
	flush()
	return out, ok
}

// decodeQP decodes quoted-printable leniently, as RFC 2045 section 6.7
// suggests: an '=' that starts neither a soft line break nor two hex
// digits is kept as it is.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := b[i+1:]
		if j := len(rest) - len(bytes.TrimLeft(rest, " \t")); j < len(rest) && (rest[j] == '\n' || (rest[j] == '\r' && j+1 < len(rest) && rest[j+1] == '\n')) {
			i += j + 1 // soft line break
			if rest[j] == '\r' {
				i++
			}
			continue
		}
		if len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]) {
			out = append(out, unhex(rest[0])<<4|unhex(rest[1]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// splitMultipart returns the parts of a multipart body. A part runs from
// the line after a "--boundary" line to the line break before the next
// one; a missing closing boundary ends the last part at the end of the
// body. With no boundary parameter, the first line starting "--" is taken
// for one. found is false when no boundary line is there at all. It stops
// after max+1 parts, the last of them running to the end.
func splitMultipart(body []byte, boundary string, max int) (parts [][]byte, found bool) {
	if boundary == "" {
		boundary = sniffBoundary(body)
		if boundary == "" {
			return nil, false
		}
	}
	delim := []byte("--" + boundary)
	start, closed := -1, false // where the current part starts; -1 before the first boundary
	eachLine(body, func(i int, line []byte, next int) bool {
		rest, ok := bytes.CutPrefix(line, delim)
		if !ok {
			return true
		}
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		if len(bytes.TrimRight(rest, " \t")) > 0 {
			return true // a longer boundary, or text
		}
		if start >= 0 {
			parts = append(parts, trimLineBreak(body[start:i]))
		}
		found, start, closed = true, next, closing
		return !closing && len(parts) < max
	})
	if start >= 0 && !closed {
		parts = append(parts, body[start:])
	}
	return parts, found
}

// sniffBoundary returns the boundary of the first line that starts "--",
// or "".
func sniffBoundary(body []byte) string {
	boundary := ""
	eachLine(body, func(_ int, line []byte, _ int) bool {
		line = bytes.TrimRight(line, " \t")
		if len(line) > 2 && bytes.HasPrefix(line, []byte("--")) {
			boundary = string(line[2:])
			return false
		}
		return true
	})
	return boundary
}

// trimLineBreak drops the line break that belongs to the boundary after a
// part.
func trimLineBreak(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// encodedWord is an RFC 2047 encoded word: charset (and an optional
// RFC 2231 language), encoding, text.
var encodedWord = regexp.MustCompile(`=\?([^?*\s]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=`)

// headerText decodes a header value: each RFC 2047 encoded word on its own
// (a word that does not decode whole keeps what did, and does not spoil the
// others), its charset sniffed like a body's, and raw 8-bit text sniffed
// too. Adjacent words in one charset are decoded together, since mailers
// split a character across two; the white space between them is dropped.
func headerText(v string) string {
	var b strings.Builder
	var pending []byte // the bytes of adjacent words in charset
	charset := ""
	flush := func() {
		b.WriteString(decodeText(pending, charset))
		pending = pending[:0]
	}
	last := 0
	for _, m := range encodedWord.FindAllStringSubmatchIndex(v, -1) {
		cs, enc, text := v[m[2]:m[3]], v[m[4]:m[5]], []byte(v[m[6]:m[7]])
		if between := v[last:m[0]]; strings.TrimSpace(between) != "" || !strings.EqualFold(cs, charset) {
			flush()
			if last == 0 || strings.TrimSpace(between) != "" {
				b.WriteString(decodeText([]byte(between), ""))
			}
		}
		charset = cs
		if enc == "b" || enc == "B" {
			raw, _ := decodeBase64(text)
			pending = append(pending, raw...)
		} else {
			pending = append(pending, decodeQP(bytes.ReplaceAll(text, []byte("_"), []byte(" ")))...)
		}
		last = m[1]
	}
	flush()
	b.WriteString(decodeText([]byte(v[last:]), ""))
	return strings.Join(strings.Fields(b.String()), " ")
}
