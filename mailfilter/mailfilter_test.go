package mailfilter_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
	"github.com/kasuhara/kasuhara/mailfilter"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	testClassifierOnce sync.Once
	testClassifier     *classifier.Classifier
	testClassifierErr  error
)

// classify classifies with the testdata lexicon (threat 殺す 1.0,
// escalation 責任者 0.7). The lexicon version is replaced by "test" so that
// golden files do not depend on how versions are hashed.
func classify(t *testing.T) mailfilter.ClassifyFunc {
	t.Helper()
	testClassifierOnce.Do(func() {
		lex, err := lexicon.LoadDir("testdata/lexicon")
		if err != nil {
			testClassifierErr = err
			return
		}
		testClassifier, testClassifierErr = classifier.New(lex, classifier.Options{})
	})
	if testClassifierErr != nil {
		t.Fatal(testClassifierErr)
	}
	return func(_ context.Context, text string) (mailfilter.Verdict, error) {
		r, err := testClassifier.Classify(text)
		if err != nil {
			return mailfilter.Verdict{}, err
		}
		v := mailfilter.Verdict{Label: r.Label.String(), Score: r.Score, Lexicon: "test"}
		for c := range r.Categories {
			v.Categories = append(v.Categories, string(c))
		}
		sort.Strings(v.Categories)
		return v, nil
	}
}

// TestMessages runs every testdata message through a Filter. Each case says
// what it must come out as; the whole output and the scored text are also
// compared with testdata/NAME.golden and testdata/NAME.text.
func TestMessages(t *testing.T) {
	cases := []struct {
		file    string
		name    string
		label   string            // want X-Kasuhara-Label; "" for none
		reason  mailfilter.Reason // want X-Kasuhara-Error's reason
		has     []string          // the scored text contains these
		hasNot  []string          // and not these
		skipped string            // want X-Kasuhara-Skipped
	}{
		{file: "utf8-8bit", name: "UTF-8 8bit threat is harassment", label: "harassment", has: []string{"お問い合わせ", "殺すぞ"}},
		{file: "iso2022jp-subject", name: "ISO-2022-JP body and RFC 2047 ISO-2022-JP subject asking for a manager is escalate", label: "escalate", has: []string{"責任者を出してください", "掃除機が動きません"}},
		{file: "shiftjis-qp", name: "Shift_JIS quoted-printable threat is harassment", label: "harassment", has: []string{"返品について", "殺すからな"}},
		{file: "eucjp-base64", name: "EUC-JP base64 inquiry is routine", label: "routine", has: []string{"配送日の確認", "注文番号 12345"}},
		{file: "utf8-base64", name: "UTF-8 base64 body with a Q-encoded subject is escalate", label: "escalate", has: []string{"至急ご確認ください", "責任者から電話"}},
		{file: "alternative", name: "multipart/alternative reads text/plain, not the HTML", label: "routine", has: []string{"発送はいつになりますか"}, hasNot: []string{"PLAIN-NOT-HTML"}},
		{file: "html-only", name: "HTML-only Shift_JIS reads the text, not head, script or the blockquote", label: "escalate",
			has: []string{"Re: 返金", "返事がありません。\n責任者を出してください", "何度も連絡していますが 返事"}, hasNot: []string{"タイトル", "color", "殺す", "support@example.com", "お問い合わせありがとう"}},
		{file: "reply-quoted", name: "quoted reply lines and their attribution are not scored", label: "routine", has: []string{"承知しました"}, hasNot: []string{"殺", "support@example.com"}},
		{file: "reply-outlook", name: "signature and -----Original Message----- history are not scored", label: "routine", has: []string{"交換品を受け取りました"}, hasNot: []string{"責任者", "殺す", "Original"}},
		{file: "reply-interleaved", name: "the sender's own lines between quotes are scored", label: "harassment", has: []string{"一週間も待てるか。殺すぞ。"}, hasNot: []string{"様のメッセージ", "返金には"}},
		{file: "forwarded", name: "forwarded history is not scored", label: "routine", has: []string{"確認をお願いします"}, hasNot: []string{"殺す", "Forwarded"}},
		{file: "mixed-attachments", name: "attachments and attached messages are not scored", label: "routine", has: []string{"領収書の再発行", "領収書を再発行してください。添付をご確認ください。"}, hasNot: []string{"殺す", "PDF"}},
		{file: "mislabelled-sjis", name: "Shift_JIS labelled UTF-8 and a raw 8-bit subject are sniffed", label: "harassment", has: []string{"至急", "殺してやる"}},
		{file: "unlabelled-jis", name: "unlabelled ISO-2022-JP is sniffed", label: "escalate", has: []string{"お願い", "責任者の方から"}},
		{file: "mbox-from-line", name: "an mbox From line stays first", label: "routine", has: []string{"在庫はありますか"}},
		{file: "broken-multipart", name: "a multipart with no closing boundary ends its last part at the end", label: "harassment", has: []string{"壊れたメール", "殺すぞ"}},
		{file: "broken-header", name: "a header line with no colon starts the body", label: "harassment", has: []string{"hello", "this line is not a header", "殺すぞ"}},
		{file: "broken-base64", name: "invalid base64 is decoded up to the damage, which is named", label: "harassment", has: []string{"件名", "殺す"}, skipped: "part 1: bad base64"},
		{file: "no-text", name: "an image with no subject has no text", reason: mailfilter.ReasonNoText},
	}
	f := &mailfilter.Filter{Classify: classify(t)}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.file+".eml"] = true
		t.Run(c.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", c.file+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			text, textErr := mailfilter.Text(in)
			out, o := f.Apply(context.Background(), in)

			if c.reason != "" {
				if o.Reason() != c.reason || o.Verdict != nil {
					t.Fatalf("outcome %+v (reason %q), want reason %q", o, o.Reason(), c.reason)
				}
				var e *mailfilter.Error
				if !errors.As(textErr, &e) || e.Reason != c.reason {
					t.Errorf("Text error %v, want reason %q", textErr, c.reason)
				}
			} else {
				if textErr != nil || o.Verdict == nil {
					t.Fatalf("Text: %v; outcome %+v", textErr, o)
				}
				if o.Verdict.Label != c.label {
					t.Errorf("label %q, want %q; scored text:\n%s", o.Verdict.Label, c.label, text)
				}
			}
			if got := strings.Join(skippedStrings(o.Skipped), "; "); got != c.skipped {
				t.Errorf("skipped %q, want %q", got, c.skipped)
			}
			for _, s := range c.has {
				if !strings.Contains(text, s) {
					t.Errorf("scored text lacks %q:\n%s", s, text)
				}
			}
			for _, s := range c.hasNot {
				if strings.Contains(text, s) {
					t.Errorf("scored text has %q:\n%s", s, text)
				}
			}
			checkOnlyAdded(t, in, out, o.Fields())
			golden(t, c.file+".golden", out)
			if textErr == nil {
				golden(t, c.file+".text", []byte(text))
			}
		})
	}
	// Every message in testdata has a case.
	all, _ := filepath.Glob("testdata/*.eml")
	for _, p := range all {
		if !seen[filepath.Base(p)] {
			t.Errorf("%s has no test case", p)
		}
	}
}

// checkOnlyAdded checks that out is in with fields inserted at the top of the
// header block, after an mbox From line if there is one, and nothing else
// changed; and that every added value is printable ASCII.
func checkOnlyAdded(t *testing.T, in, out []byte, fields []mailfilter.Field) {
	t.Helper()
	eol := "\n"
	body := in
	var from []byte
	if bytes.HasPrefix(in, []byte("From ")) {
		nl := bytes.IndexByte(in, '\n')
		from, body = in[:nl+1], in[nl+1:]
	}
	if i := bytes.IndexByte(body, '\n'); i > 0 && body[i-1] == '\r' {
		eol = "\r\n"
	}
	var want bytes.Buffer
	want.Write(from)
	for _, f := range fields {
		want.WriteString(f.Name + ": " + f.Value + eol)
		for _, c := range []byte(f.Value) {
			if c < 0x20 || c > 0x7e {
				t.Errorf("%s value %q is not printable ASCII", f.Name, f.Value)
				break
			}
		}
		if !strings.HasPrefix(f.Name, mailfilter.HeaderPrefix) {
			t.Errorf("added field %q", f.Name)
		}
	}
	want.Write(body)
	if !bytes.Equal(out, want.Bytes()) {
		t.Errorf("output is not the input with the fields added at the top:\n%q", out)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestFields(t *testing.T) {
	cases := []struct {
		name string
		o    mailfilter.Outcome
		want []mailfilter.Field
	}{
		{"a verdict gives four fields, categories as a comma list",
			mailfilter.Outcome{Verdict: &mailfilter.Verdict{Label: "harassment", Score: 0.9375, Categories: []string{"threat", "abuse"}, Lexicon: "0123abcd"}},
			[]mailfilter.Field{{"X-Kasuhara-Label", "harassment"}, {"X-Kasuhara-Score", "0.9375"}, {"X-Kasuhara-Categories", "threat, abuse"}, {"X-Kasuhara-Lexicon", "0123abcd"}}},
		{"no categories is none",
			mailfilter.Outcome{Verdict: &mailfilter.Verdict{Label: "routine", Score: 0, Lexicon: "v"}},
			[]mailfilter.Field{{"X-Kasuhara-Label", "routine"}, {"X-Kasuhara-Score", "0"}, {"X-Kasuhara-Categories", "none"}, {"X-Kasuhara-Lexicon", "v"}}},
		{"values from a misbehaving server are kept to one ASCII line",
			mailfilter.Outcome{Verdict: &mailfilter.Verdict{Label: "routine\r\nBcc: x", Score: 7, Categories: []string{"脅迫"}, Lexicon: ""}},
			[]mailfilter.Field{{"X-Kasuhara-Label", "routine??Bcc: x"}, {"X-Kasuhara-Score", "1"}, {"X-Kasuhara-Categories", "??????"}, {"X-Kasuhara-Lexicon", "none"}}},
		{"too large says the limit",
			mailfilter.TooLarge(1024),
			[]mailfilter.Field{{"X-Kasuhara-Error", "too-large; not scored: the message is over the size limit (over 1024 bytes)"}}},
		{"a classifier failure never shows its error",
			mailfilter.Failed(errors.New("dial tcp 10.0.0.1:50051: connection refused")),
			[]mailfilter.Field{{"X-Kasuhara-Error", "classify-failed; not scored: the classifier failed"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.o.Fields()
			if len(got) != len(c.want) {
				t.Fatalf("fields %q, want %q", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("field %d = %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestAddFieldsLineEndings(t *testing.T) {
	fields := []mailfilter.Field{{"X-Kasuhara-Label", "routine"}}
	cases := []struct{ name, in, want string }{
		{"LF message gets LF", "Subject: a\n\nb\n", "X-Kasuhara-Label: routine\nSubject: a\n\nb\n"},
		{"CRLF message gets CRLF", "Subject: a\r\n\r\nb\r\n", "X-Kasuhara-Label: routine\r\nSubject: a\r\n\r\nb\r\n"},
		{"mbox From line stays first and the next line decides", "From a@b Wed May  1 12:00:00 2024\nSubject: a\r\n\r\n", "From a@b Wed May  1 12:00:00 2024\nX-Kasuhara-Label: routine\r\nSubject: a\r\n\r\n"},
		{"empty input gets the field alone", "", "X-Kasuhara-Label: routine\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(mailfilter.AddFields([]byte(c.in), fields)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestOwnText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"quoted lines go, own lines stay", "はい\n> いいえ\n>> 引用\n＞ 全角\n　> 字下げ\nありがとう", "はい\nありがとう"},
		{"an attribution before a quote goes", "了解です\n\nOn Wed, May 1, 2024 at 12:00 PM Support <s@example.com> wrote:\n> hello", "了解です"},
		{"のメール attribution goes", "了解です\n2024/05/01 12:00、サポート <s@example.com>のメール:\n\n> こんにちは", "了解です"},
		{"an attribution-like sentence before own text stays", "先日のメール:\n届いていません", "先日のメール:\n届いていません"},
		{"signature runs to the end", "本文\n-- \n山田\n責任者", "本文"},
		{"a bare -- is a signature too", "本文\n--\n山田", "本文"},
		{"a dash rule is not a signature", "本文\n---\n続き", "本文\n---\n続き"},
		{"Original Message with headers cuts the rest", "本文\n-----Original Message-----\nFrom: a\n古い", "本文"},
		{"Japanese Outlook history cuts the rest", "本文\n-----元のメッセージ-----\n差出人: a\n件名: b\n古い", "本文"},
		{"Thunderbird Japanese forward cuts the rest", "本文\n-------- 転送メッセージ --------\n件名:\tb\n日付:\tc\n古い", "本文"},
		{"Apple Mail forward cuts the rest", "本文\n\nBegin forwarded message:\n\nFrom: a\n古い", "本文"},
		{"Outlook underscore rule with headers cuts the rest", "本文\n________________________________\n差出人: a\n古い", "本文"},
		{"a history mark with no header after it stays", "本文\n-----Original Message-----\n続き", "本文\n-----Original Message-----\n続き"},
		{"CRLF is read as LF", "本文\r\n> 引用\r\n続き\r\n", "本文\n続き"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mailfilter.OwnText(c.in); got != c.want {
				t.Errorf("OwnText(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestCheckCutsLongText(t *testing.T) {
	var got string
	f := &mailfilter.Filter{MaxTextBytes: 100, Classify: func(_ context.Context, text string) (mailfilter.Verdict, error) {
		got = text
		return mailfilter.Verdict{Label: "routine"}, nil
	}}
	body := strings.Repeat("あいうえお\n", 20) // 16 bytes a line
	o := f.Check(context.Background(), []byte("Subject: s\n\n"+body))
	if o.Verdict == nil {
		t.Fatalf("outcome %+v", o)
	}
	if len(got) > 100 || !strings.HasSuffix(got, "あいうえお") || !strings.HasPrefix(got, "s\n\nあいうえお") {
		t.Errorf("classified %d bytes %q, want <= 100 ending at a line", len(got), got)
	}
}

func TestClassifyFailureIsAnError(t *testing.T) {
	f := &mailfilter.Filter{Classify: func(context.Context, string) (mailfilter.Verdict, error) {
		return mailfilter.Verdict{}, errors.New("unavailable")
	}}
	in := []byte("Subject: 殺す\r\n\r\n本文\r\n")
	out, o := f.Apply(context.Background(), in)
	if o.Reason() != mailfilter.ReasonClassifyFailed {
		t.Fatalf("reason %q, want %q", o.Reason(), mailfilter.ReasonClassifyFailed)
	}
	want := "X-Kasuhara-Error: classify-failed; not scored: the classifier failed\r\n" + string(in)
	if string(out) != want {
		t.Errorf("out %q, want %q", out, want)
	}
}

func TestDeepNestingIsSkipped(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: s\n")
	for i := 0; i < 40; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=\"b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\"\n\n--b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\n")
	}
	b.WriteString("Content-Type: text/plain\n\nhi\n")
	text, skipped, err := mailfilter.Read([]byte(b.String()))
	if err != nil || text != "s" {
		t.Errorf("text %q, err %v; want the subject alone", text, err)
	}
	want := "part 1" + strings.Repeat(".1", 15) + ": multiparts nested deeper than 16"
	if got := strings.Join(skippedStrings(skipped), "; "); got != want {
		t.Errorf("skipped %q, want %q", got, want)
	}
}

func skippedStrings(skipped []mailfilter.Skipped) []string {
	var out []string
	for _, s := range skipped {
		out = append(out, s.String())
	}
	return out
}

func TestDropFields(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"forged fields go, folded ones whole", "X-Kasuhara-Label: routine\r\nSubject: a\r\nx-kasuhara-score: 0\r\n\t0\r\n\r\nX-Kasuhara-Label: body\r\n", "Subject: a\r\n\r\nX-Kasuhara-Label: body\r\n"},
		{"an mbox From line stays", "From a@b Wed May  1 12:00:00 2024\nX-Kasuhara-Label: routine\nSubject: a\n\nb\n", "From a@b Wed May  1 12:00:00 2024\nSubject: a\n\nb\n"},
		{"a field cut off at the end of the input stays", "Subject: a\nX-Kasuhara-Label: rou", "Subject: a\nX-Kasuhara-Label: rou"},
		{"a message without them is returned as it is", "Subject: a\n\nb\n", "Subject: a\n\nb\n"},
		{"past a line that is not a field nothing goes", "Subject: a\nnot a field\nX-Kasuhara-Label: routine\n\nb\n", "Subject: a\nnot a field\nX-Kasuhara-Label: routine\n\nb\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(mailfilter.DropFields([]byte(c.in))); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
