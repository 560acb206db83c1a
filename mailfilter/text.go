package mailfilter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-2022-JP, Shift_JIS, EUC-JP and the rest for go-message
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
)

// maxDepth is how deeply multiparts may nest before a message is refused as
// unparseable.
const maxDepth = 16

// Errors for messages Text cannot read. They say what was wrong, never
// what the message says.
var (
	errHeader    = errors.New("malformed header block")
	errMultipart = errors.New("malformed multipart body")
	errPartBody  = errors.New("undecodable part body")
	errTooDeep   = fmt.Errorf("multiparts nested deeper than %d", maxDepth)
)

// Text returns what msg's sender wrote, as it is scored: the decoded subject,
// a blank line, and the sender's own text from the body (see OwnText). It
// prefers text/plain to text/html within multipart/alternative, reads the
// inline text parts of other multiparts, and skips attachments and attached
// messages. An error is an *Error with ReasonUnparseable or ReasonNoText.
func Text(msg []byte) (string, error) {
	msg = msg[len(envelopeLine(msg)):]
	e, err := message.Read(bytes.NewReader(msg))
	if err != nil && !tolerable(err) {
		return "", &Error{Reason: ReasonUnparseable, Err: errHeader}
	}
	subject := headerText(e.Header, "Subject")
	body, _, err := entityText(e, 0)
	if err != nil {
		return "", &Error{Reason: ReasonUnparseable, Err: err}
	}
	body = OwnText(body)
	text := strings.TrimSpace(subject + "\n\n" + body)
	if text == "" {
		return "", &Error{Reason: ReasonNoText}
	}
	return text, nil
}

// tolerable errors leave the body undecoded, which toUTF8 then sniffs.
func tolerable(err error) bool {
	return message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)
}

// headerText decodes an RFC 2047 header value, falling back to the raw value
// (which may be 8-bit Shift_JIS or UTF-8) when decoding fails.
func headerText(h message.Header, key string) string {
	s, err := h.Text(key)
	if err != nil {
		s = h.Get(key)
	}
	return strings.Join(strings.Fields(toUTF8([]byte(s))), " ")
}

// entityText returns the text of e and whether any of it came from
// text/plain.
func entityText(e *message.Entity, depth int) (text string, plain bool, err error) {
	mt, _, _ := e.Header.ContentType()
	if mr := e.MultipartReader(); mr != nil {
		if depth >= maxDepth {
			return "", false, errTooDeep
		}
		return multipartText(mr, mt == "multipart/alternative", depth)
	}
	if disp, _, _ := e.Header.ContentDisposition(); disp == "attachment" {
		return "", false, nil
	}
	switch mt {
	case "", "text/plain":
		b, err := io.ReadAll(e.Body)
		if err != nil {
			return "", false, errPartBody
		}
		return toUTF8(b), true, nil
	case "text/html":
		b, err := io.ReadAll(e.Body)
		if err != nil {
			return "", false, errPartBody
		}
		return htmlText(toUTF8(b)), false, nil
	}
	return "", false, nil // attachments, images, attached messages
}

// multipartText reads every part. Of an alternative it keeps the first part
// with text from text/plain, else the first with any text; of any other
// multipart it joins the text of every inline part.
func multipartText(mr message.MultipartReader, alternative bool, depth int) (string, bool, error) {
	var texts []string
	var best string
	bestPlain, found := false, false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !tolerable(err) {
			return "", false, errMultipart
		}
		text, plain, err := entityText(p, depth+1)
		if err != nil {
			return "", false, err
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		if !alternative {
			texts = append(texts, text)
			bestPlain = bestPlain || plain
			continue
		}
		if !found || (plain && !bestPlain) {
			best, bestPlain, found = text, plain, true
		}
	}
	if alternative {
		return best, bestPlain, nil
	}
	return strings.Join(texts, "\n\n"), bestPlain, nil
}

// toUTF8 returns b as UTF-8. go-message has already converted parts whose
// charset it knows; what is left is sniffed, because Japanese mail is often
// mislabelled: ISO-2022-JP escapes in "us-ascii" or unlabelled text, or
// Shift_JIS and EUC-JP bytes labelled UTF-8 or not at all.
func toUTF8(b []byte) string {
	if bytes.Contains(b, []byte("\x1b$B")) || bytes.Contains(b, []byte("\x1b$@")) {
		if s, ok := decodeWith(japanese.ISO2022JP, b); ok {
			return s
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	sjis, sjisOK := decodeWith(japanese.ShiftJIS, b)
	euc, eucOK := decodeWith(japanese.EUCJP, b)
	switch {
	case sjisOK && (!eucOK || strings.Count(sjis, "\uFFFD") <= strings.Count(euc, "\uFFFD")):
		return sjis
	case eucOK:
		return euc
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func decodeWith(enc encoding.Encoding, b []byte) (string, bool) {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return "", false
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), true
}

// htmlText turns HTML into text: line breaks for <br> and block elements,
// runs of white space collapsed, and nothing from <head>, <script>, <style>
// or <blockquote> (where mailers put the quoted history of a reply).
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := map[atom.Atom]int{}
	skipping := func() bool {
		for _, n := range skip {
			if n > 0 {
				return true
			}
		}
		return false
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyLines(b.String())
		case html.TextToken:
			if !skipping() {
				b.WriteString(collapseSpace(string(z.Text())))
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Head, atom.Script, atom.Style, atom.Blockquote, atom.Title:
				switch tt {
				case html.StartTagToken:
					skip[a]++
				case html.EndTagToken:
					if skip[a] > 0 {
						skip[a]--
					}
				}
				b.WriteByte('\n')
			case atom.Br, atom.P, atom.Div, atom.Tr, atom.Li, atom.Ul, atom.Ol, atom.Table,
				atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Hr, atom.Pre, atom.Body:
				b.WriteByte('\n')
			case atom.Td, atom.Th:
				b.WriteByte(' ')
			}
		}
	}
}

// collapseSpace turns each run of white space into one space, as HTML
// renders it.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) && r != '\u3000' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// tidyLines trims every line and drops runs of blank lines to one.
func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" && blank {
			continue
		}
		blank = l == ""
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
