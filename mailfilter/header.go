package mailfilter

import (
	"bytes"
	"strings"
)

// AddFields returns msg with fields inserted at the top of its header block,
// each line ended as msg's first line is (CRLF or LF), and every byte of msg
// kept as it was. A leading mbox "From " line, as procmail and maildrop pass
// it, stays first.
func AddFields(msg []byte, fields []Field) []byte {
	at := len(envelopeLine(msg))
	eol := lineEnding(msg[at:])
	var add strings.Builder
	for _, f := range fields {
		add.WriteString(f.Name)
		add.WriteString(": ")
		add.WriteString(f.Value)
		add.WriteString(eol)
	}
	out := make([]byte, 0, len(msg)+add.Len())
	out = append(out, msg[:at]...)
	out = append(out, add.String()...)
	return append(out, msg[at:]...)
}

// envelopeLine returns the mbox "From " line that starts msg, with its line
// ending, or nil.
func envelopeLine(msg []byte) []byte {
	if !bytes.HasPrefix(msg, []byte("From ")) {
		return nil
	}
	if nl := bytes.IndexByte(msg, '\n'); nl >= 0 {
		return msg[:nl+1]
	}
	return msg
}

// lineEnding is "\r\n" if msg's first line ends so, else "\n".
func lineEnding(msg []byte) string {
	if nl := bytes.IndexByte(msg, '\n'); nl > 0 && msg[nl-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// DropFields returns msg without the X-Kasuhara-* fields in its header
// block (with their continuation lines), so that a sender cannot forge a
// verdict; every other byte is kept. A leading mbox "From " line stays.
// msg may be the start of a longer message: a field not ended by a line
// break in msg is kept.
func DropFields(msg []byte) []byte {
	from := len(envelopeLine(msg))
	head := msg[from : from+len(msg[from:])-len(readEntity(msg[from:]).body)]
	prefix := []byte(strings.ToLower(HeaderPrefix))
	var out []byte
	dropped := false
	kept := 0 // msg[:kept] is in out or still to copy
	for i := 0; i < len(head); {
		end := fieldEnd(head, i)
		line := head[i:end]
		if len(line) >= len(prefix) && bytes.EqualFold(line[:len(prefix)], prefix) && bytes.HasSuffix(line, []byte("\n")) {
			out = append(out, msg[kept:from+i]...)
			kept, dropped = from+end, true
		}
		i = end
	}
	if !dropped {
		return msg
	}
	return append(out, msg[kept:]...)
}

// fieldEnd returns where the header field starting at head[i] ends: after
// its line break and those of its continuation lines.
func fieldEnd(head []byte, i int) int {
	for {
		nl := bytes.IndexByte(head[i:], '\n')
		if nl < 0 {
			return len(head)
		}
		i += nl + 1
		if i >= len(head) || (head[i] != ' ' && head[i] != '\t') {
			return i
		}
	}
}
