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
