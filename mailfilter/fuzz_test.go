package mailfilter_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kasuhara/kasuhara/mailfilter"
)

// FuzzApply: any input comes out whole with only ASCII X-Kasuhara-* fields
// added, DropFields only removes, and the classifier is only ever given valid, non-empty UTF-8 within
// the limit.
func FuzzApply(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.eml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range craftedMail {
		f.Add([]byte(c.msg))
	}
	f.Add([]byte(""))
	f.Add([]byte("From \n"))
	f.Add([]byte("Subject: =?ISO-2022-JP?B?GyRC?=\r\n\r\n\x1b$B;&\r\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=x\n\n--x\nContent-Type: text/html\n\n<blockquote><p>\xff\xfe</p>\n--x--\n"))
	const max = 256
	var classified string
	filter := &mailfilter.Filter{MaxTextBytes: max, Classify: func(_ context.Context, text string) (mailfilter.Verdict, error) {
		if text == "" || len(text) > max || !utf8.ValidString(text) {
			panic("classifier given bad text")
		}
		classified = text
		return mailfilter.Verdict{Label: "routine", Lexicon: "fuzz"}, nil
	}}
	f.Fuzz(func(t *testing.T, in []byte) {
		// What is classified is the start of the whole text, cut no
		// shorter than the limit allows.
		classified = ""
		filter.Check(context.Background(), in)
		if full, err := mailfilter.Text(in); err == nil {
			if !strings.HasPrefix(full, classified) || len(classified) < min(len(full), max/2) || (len(full) <= max && classified != full) {
				t.Fatalf("classified %q of the text %q", classified, full)
			}
		}
		// DropFields only removes, and leaves nothing it would remove.
		if d := mailfilter.DropFields(in); len(d) > len(in) || !bytes.Equal(mailfilter.DropFields(d), d) {
			t.Fatalf("DropFields(%q) = %q, which it changes again or is longer", in, d)
		}
		out, o := filter.Apply(context.Background(), append([]byte(nil), in...))
		fields := o.Fields()
		for _, fl := range fields {
			for _, c := range []byte(fl.Value) {
				if c < 0x20 || c > 0x7e {
					t.Fatalf("field %s value %q is not printable ASCII", fl.Name, fl.Value)
				}
			}
		}
		// out is in with whole X-Kasuhara-* lines inserted after any mbox
		// From line, one per field.
		var from []byte
		if bytes.HasPrefix(in, []byte("From ")) {
			from = in
			if nl := bytes.IndexByte(in, '\n'); nl >= 0 {
				from = in[:nl+1]
			}
		}
		rest := in[len(from):]
		if !bytes.HasPrefix(out, from) || !bytes.HasSuffix(out, rest) || len(out) < len(in) {
			t.Fatalf("input not kept: in %q, out %q", in, out)
		}
		added := out[len(from) : len(out)-len(rest)]
		lines := bytes.SplitAfter(added, []byte("\n"))
		if len(lines) != len(fields)+1 || len(lines[len(fields)]) != 0 {
			t.Fatalf("added %q for %d fields", added, len(fields))
		}
		for _, l := range lines[:len(fields)] {
			if !bytes.HasPrefix(l, []byte(mailfilter.HeaderPrefix)) {
				t.Fatalf("added line %q", l)
			}
		}
	})
}
