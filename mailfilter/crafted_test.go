package mailfilter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/mailfilter"
)

// threatUTF8 is a threat the testdata lexicon scores (殺す), in UTF-8.
const threatUTF8 = "お前の会社、ネットで晒すからな。殺すぞ。"

// craftedMail is each way a sender could once get a threat past the
// gateway unscored, or make it drop the whole mail (each case but the last
// three failed before the reader was made lenient): a mail whose text can
// be decoded gets its verdict, and what could not be read is named.
var craftedMail = []struct {
	name    string
	msg     string
	label   string // want X-Kasuhara-Label, "" for none
	skipped string // want X-Kasuhara-Skipped, "" for none
	errText string // want X-Kasuhara-Error to start so, with label ""
}{
	{name: "a stray invalid byte in UTF-8 text leaves the threat scored",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + threatUTF8 + "\xff\r\n",
		label: "harassment"},
	{name: "invalid bytes between UTF-8 sentences leave the threat scored",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xfe\xfeよろしく\x80\r\n" + threatUTF8 + "\xc3\r\n",
		label: "harassment"},
	{name: "UTF-8 labelled iso-2022-jp is read as UTF-8",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n" + threatUTF8 + "\r\n",
		label: "harassment"},
	{name: "UTF-8 labelled shift_jis is read as UTF-8",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=shift_jis\r\n\r\n" + threatUTF8 + "\r\n",
		label: "harassment"},
	{name: "UTF-8 labelled euc-jp is read as UTF-8",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=euc-jp\r\n\r\n" + threatUTF8 + "\r\n",
		label: "harassment"},
	{name: "kanji-only 責任者 in UTF-8 labelled shift_jis is read as UTF-8",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=shift_jis\r\n\r\n責任者\r\n",
		label: "escalate"},
	{name: "UTF-8 labelled iso-8859-1 is read as UTF-8",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n" + threatUTF8 + "\r\n",
		label: "harassment"},
	{name: "UTF-8 base64 labelled iso-2022-jp is read as UTF-8",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: base64\r\n\r\n5q6644GZ44Ge\r\n",
		label: "harassment"},
	{name: "Shift_JIS labelled iso-2022-jp is read as Shift_JIS",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x8e\x45\x82\xb7\x82\xa9\x82\xe7\x82\xc8\r\n",
		label: "harassment"},
	{name: "EUC-JP labelled shift_jis is read as EUC-JP",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=shift_jis\r\n\r\n\xbb\xa6\xa4\xb9\xa4\xab\xa4\xe9\xa4\xca\r\n",
		label: "harassment"},
	{name: "undeclared EUC-JP is sniffed",
		msg:   "Subject: x\r\n\r\n\xbb\xa6\xa4\xb9\xa4\xab\xa4\xe9\xa4\xca\r\n",
		label: "harassment"},
	{name: "Shift_JIS labelled iso-8859-1 is read as Shift_JIS",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n\x8e\x45\x82\xb7\x82\xa9\x82\xe7\x82\xc8\r\n",
		label: "harassment"},
	{name: "an unterminated quote in Content-Type keeps the body",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=\"utf-8\r\n\r\n" + threatUTF8 + "\r\n",
		label: "harassment"},
	{name: "an unterminated quote in a multipart boundary keeps the parts",
		msg: "Subject: x\r\nContent-Type: multipart/mixed; boundary=\"b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			threatUTF8 + "\r\n--b1--\r\n",
		label: "harassment"},
	{name: "a bad base64 part is skipped and named, its clean sibling scored",
		msg: "Subject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			threatUTF8 + "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!*\r\n--b1--\r\n",
		label: "harassment", skipped: "part 2: bad base64"},
	{name: "a threat before a bad base64 character is scored and the damage named",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n5q6644GZ44Ge!\r\n",
		label: "harassment", skipped: "part 1: bad base64"},
	{name: "a multipart with no closing boundary keeps its last part",
		msg: "Subject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			threatUTF8 + "\r\n",
		label: "harassment"},
	{name: "a multipart with no boundary parameter finds its boundary",
		msg: "Subject: x\r\nContent-Type: multipart/mixed\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			threatUTF8 + "\r\n--b1--\r\n",
		label: "harassment"},
	{name: "multiparts nested 17 deep are skipped and named, a clean sibling scored",
		msg: "Subject: x\r\nContent-Type: multipart/mixed; boundary=top\r\n\r\n--top\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			threatUTF8 + "\r\n--top\r\n" + nested(17, "hello") + "\r\n--top--\r\n",
		label: "harassment", skipped: "part 2" + strings.Repeat(".1", 15) + ": multiparts nested deeper than 16"},
	{name: "a mail of 1001 parts has the first 1000 scored and the rest named",
		msg: "Subject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" + strings.Repeat("--b1\r\n\r\nhello\r\n", 999) +
			"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + threatUTF8 + "\r\n--b1\r\n\r\n" + threatUTF8 + "\r\n--b1--\r\n",
		label: "harassment", skipped: "part 1001: more than 1000 parts"},
	{name: "a part with a broken header line still has its siblings scored",
		msg: "Subject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nbroken header line\r\n\r\nhello\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			threatUTF8 + "\r\n--b1--\r\n",
		label: "harassment"},
	{name: "a header line with no colon starts the body, which is scored",
		msg:   "From: a@example.jp\r\nSubject: hello\r\nthis line is not a header\r\n\r\n" + threatUTF8 + "\r\n",
		label: "harassment"},
	{name: "an RFC 2047 subject with a lying charset is read as UTF-8",
		msg:   "Subject: =?iso-2022-jp?B?5q6644GZ44Ge?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n",
		label: "harassment"},
	{name: "an HTML part labelled shift_jis holding UTF-8 is read as UTF-8",
		msg:   "Subject: x\r\nContent-Type: text/html; charset=shift_jis\r\n\r\n<p>" + threatUTF8 + "</p>\r\n",
		label: "harassment"},
	{name: "nothing readable passes unscored, naming what was skipped",
		msg:     "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n!\r\n",
		skipped: "part 1: bad base64", errText: "unparseable;"},
	// These three held before the lenient reader; they guard it.
	{name: "ISO-2022-JP labelled utf-8 is read as ISO-2022-JP",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\x1b$B;&$9$>\x1b(B\r\n",
		label: "harassment"},
	{name: "a bad quoted-printable escape keeps the text",
		msg:   "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ =E6=AE=BA=E3=81=99=E3=81=9E\r\n",
		label: "harassment"},
	{name: "a bad encoded word in the subject leaves its good neighbour decoded",
		msg:   "Subject: =?UTF-8?B?!!!?= =?UTF-8?B?5q6644GZ44Ge?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n",
		label: "harassment"},
}

// nested is depth multipart/mixed levels around one text/plain part.
func nested(depth int, text string) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString("Content-Type: multipart/mixed; boundary=n" + strings.Repeat("x", i) + "\r\n\r\n--n" + strings.Repeat("x", i) + "\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
	for i := depth - 1; i >= 0; i-- {
		b.WriteString("--n" + strings.Repeat("x", i) + "--\r\n")
	}
	return b.String()
}

func TestCraftedMail(t *testing.T) {
	f := &mailfilter.Filter{Classify: classify(t)}
	for _, c := range craftedMail {
		t.Run(c.name, func(t *testing.T) {
			out, o := f.Apply(context.Background(), []byte(c.msg))
			checkOnlyAdded(t, []byte(c.msg), out, o.Fields())
			got := addedFields(out, len(c.msg))
			if got["X-Kasuhara-Label"] != c.label {
				t.Errorf("X-Kasuhara-Label %q, want %q; outcome %+v", got["X-Kasuhara-Label"], c.label, o)
			}
			if got["X-Kasuhara-Skipped"] != c.skipped {
				t.Errorf("X-Kasuhara-Skipped %q, want %q", got["X-Kasuhara-Skipped"], c.skipped)
			}
			if e := got["X-Kasuhara-Error"]; !strings.HasPrefix(e, c.errText) || (c.errText == "") != (e == "") {
				t.Errorf("X-Kasuhara-Error %q, want it to start %q", e, c.errText)
			}
		})
	}
}

// addedFields reads the X-Kasuhara-* fields a Filter put at the top of out,
// a message that was inLen bytes long.
func addedFields(out []byte, inLen int) map[string]string {
	fields := map[string]string{}
	for _, l := range strings.SplitAfter(string(out[:len(out)-inLen]), "\n") {
		name, value, ok := strings.Cut(strings.TrimRight(l, "\r\n"), ": ")
		if ok {
			fields[name] = value
		}
	}
	return fields
}
