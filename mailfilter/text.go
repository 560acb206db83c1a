package mailfilter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxDepth is how deeply multiparts may nest; one nested deeper is
// skipped.
const maxDepth = 16

// maxParts is how many parts Text reads in one message; those after are
// skipped.
const maxParts = 1000

// maxSubjectBytes is how much of a Subject field Text decodes: four times
// the most text that is classified, which no encoding of that text needs.
const maxSubjectBytes = 4 * DefaultMaxTextBytes

// Skipped is a piece of a message that Text could not read, named without
// quoting the message.
type Skipped struct {
	// Part is the part's IMAP section number (RFC 3501): "1" for the body
	// of a single-part message, "2.1" for the first part of the second.
	Part string
	// Why says what was wrong: "bad base64", "multiparts nested deeper
	// than 16", "more than 1000 parts".
	Why string
}

// String is how X-Kasuhara-Skipped names s: "part 2: bad base64".
func (s Skipped) String() string { return "part " + s.Part + ": " + s.Why }

// Text returns what msg's sender wrote, as it is scored: the decoded subject,
// a blank line, and the sender's own text from the body (see OwnText). It
// prefers text/plain to text/html within multipart/alternative, reads the
// inline text parts of other multiparts, and skips attachments and attached
// messages. An error is an *Error with ReasonUnparseable or ReasonNoText.
// Read reads leniently and also says what it skipped.
func Text(msg []byte) (string, error) {
	text, _, err := Read(msg)
	return text, err
}

// Read is Text, and also returns what it could not read. It reads every
// part it can: a broken header line ends the header block, an unreadable
// Content-Type is text/plain, a missing boundary is looked for, a missing
// closing boundary ends the last part at the end of the message, base64
// and quoted-printable are decoded as far as they can be, and charsets are
// sniffed (see decodeText). Only what cannot be decoded at all is skipped
// and named. An error is an *Error with ReasonNoText, or ReasonUnparseable
// when there is no text because what was there was skipped.
func Read(msg []byte) (text string, skipped []Skipped, err error) {
	return read(msg, -1)
}

// read is Read, keeping about limit bytes of the sender's own text at most
// (limit < 0: all of it); Check cuts it there anyway.
func read(msg []byte, limit int) (text string, skipped []Skipped, err error) {
	msg = msg[len(envelopeLine(msg)):]
	e := readEntity(msg)
	r := &reader{}
	body, _ := r.entityText(e, "", 0)
	subject := e.header.Get("Subject")
	subject = subject[:min(len(subject), maxSubjectBytes)]
	text = strings.TrimSpace(headerText(subject) + "\n\n" + ownText(body, limit))
	if text == "" {
		if len(r.skipped) > 0 {
			return "", r.skipped, &Error{Reason: ReasonUnparseable, Err: fmt.Errorf("skipped %s", skippedValue(r.skipped))}
		}
		return "", nil, &Error{Reason: ReasonNoText}
	}
	return text, r.skipped, nil
}

// reader collects what a message's parts say and what it skipped.
type reader struct {
	skipped []Skipped
	parts   int
}

func (r *reader) skip(part, why string) {
	r.skipped = append(r.skipped, Skipped{Part: part, Why: why})
}

// entityText returns the text of e, the part numbered section, and whether
// any of it came from text/plain.
func (r *reader) entityText(e entity, section string, depth int) (text string, plain bool) {
	mt, params := e.contentType()
	if strings.HasPrefix(mt, "multipart/") {
		if depth >= maxDepth {
			r.skip(orOne(section), fmt.Sprintf("multiparts nested deeper than %d", maxDepth))
			return "", false
		}
		parts, found := splitMultipart(e.body, params["boundary"], max(maxParts-r.parts, 0))
		if found {
			return r.multipartText(parts, mt == "multipart/alternative", section, depth)
		}
		mt = "text/plain" // no boundary in it: its body is all there is to read
	}
	if disp, _ := mediaType(e.header.Get("Content-Disposition")); disp == "attachment" {
		return "", false
	}
	if mt != "text/plain" && mt != "text/html" {
		return "", false // attachments, images, attached messages
	}
	b, ok := e.decodedBody()
	if !ok {
		r.skip(orOne(section), "bad base64")
	}
	s := decodeText(b, params["charset"])
	if mt == "text/html" {
		return htmlText(s), false
	}
	return s, true
}

// orOne is the section number of the body of a single-part message.
func orOne(section string) string {
	if section == "" {
		return "1"
	}
	return section
}

// multipartText reads every part. Of an alternative it keeps the first part
// with text from text/plain, else the first with any text; of any other
// multipart it joins the text of every inline part.
func (r *reader) multipartText(parts [][]byte, alternative bool, section string, depth int) (string, bool) {
	var texts []string
	var best string
	bestPlain, found := false, false
	for i, p := range parts {
		sub := strconv.Itoa(i + 1)
		if section != "" {
			sub = section + "." + sub
		}
		if r.parts++; r.parts > maxParts {
			r.skip(sub, fmt.Sprintf("more than %d parts", maxParts))
			break
		}
		text, plain := r.entityText(readEntity(p), sub, depth+1)
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
		return best, bestPlain
	}
	return strings.Join(texts, "\n\n"), bestPlain
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
	var b strings.Builder
	blank := true
	nextLines(s, func(l string) bool {
		l = strings.TrimSpace(l)
		if l == "" && blank {
			return true
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		blank = l == ""
		b.WriteString(l)
		return true
	})
	return strings.TrimSpace(b.String())
}
