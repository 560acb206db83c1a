package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A threat in ISO-2022-JP, quoted-printable-free 7bit, CRLF, with an RFC
// 2047 subject asking for a manager and a quoted line that must not count.
const jisThreat = "From: taro@example.jp\r\n" +
	"Subject: =?ISO-2022-JP?B?GyRCQFVHJDxUGyhC?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=ISO-2022-JP\r\n" +
	"\r\n" +
	"\x1b$B;&$9$>\x1b(B\r\n" + // 殺すぞ
	"> quoted\r\n"

const plainRoutine = "Subject: question\n\nWhen will my order ship?\n"

// plainThreat is a threat in plain UTF-8.
const plainThreat = "Subject: x\nContent-Type: text/plain; charset=utf-8\n\nお前の会社、ネットで晒すからな。殺すぞ。\n"

// unusedAddr is a loopback address nothing listens on.
func unusedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestMailAddsHeadersAndKeepsTheRest(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		in         string
		want       string // the header lines added, each ending as the message's lines do
		stderrHas  string
		stderrNone bool
	}{
		{
			name: "in-process ISO-2022-JP threat is harassment, CRLF kept",
			args: []string{"--lexicon", "testdata/lexicon"},
			in:   jisThreat,
			want: "X-Kasuhara-Label: harassment\r\nX-Kasuhara-Score: 1\r\nX-Kasuhara-Categories: threat, escalation\r\nX-Kasuhara-Lexicon: " + testLexiconVersion(t) + "\r\n",
			// a clean verdict is silent
			stderrNone: true,
		},
		{
			name:       "in-process routine mail is routine",
			args:       []string{"--lexicon", "testdata/lexicon"},
			in:         plainRoutine,
			want:       "X-Kasuhara-Label: routine\nX-Kasuhara-Score: 0\nX-Kasuhara-Categories: none\nX-Kasuhara-Lexicon: " + testLexiconVersion(t) + "\n",
			stderrNone: true,
		},
		{
			name:      "an unreachable --server passes the mail with X-Kasuhara-Error",
			args:      []string{"--server", unusedAddr(t), "--server-timeout", "5s"},
			in:        jisThreat,
			want:      "X-Kasuhara-Error: classify-failed; not scored: the classifier failed\r\n",
			stderrHas: "classify-failed",
		},
		{
			name:      "an invalid lexicon passes the mail with X-Kasuhara-Error",
			args:      []string{"--lexicon", "testdata/no-such-lexicon"},
			in:        plainRoutine,
			want:      "X-Kasuhara-Error: classify-failed; not scored: the classifier failed\n",
			stderrHas: "no-such-lexicon",
		},
		{
			name:       "a line that is not a header field starts the body, which is scored",
			args:       []string{"--lexicon", "testdata/lexicon"},
			in:         "Subject: x\nnot a header line\n\n殺すぞ\n",
			want:       "X-Kasuhara-Label: harassment\nX-Kasuhara-Score: 1\nX-Kasuhara-Categories: threat\nX-Kasuhara-Lexicon: " + testLexiconVersion(t) + "\n",
			stderrNone: true,
		},
		{
			name:      "a bad part is named in X-Kasuhara-Skipped and on stderr",
			args:      []string{"--lexicon", "testdata/lexicon"},
			in:        "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n殺すぞ\n--b\nContent-Transfer-Encoding: base64\n\n!!!!\n--b--\n",
			want:      "X-Kasuhara-Label: harassment\nX-Kasuhara-Score: 1\nX-Kasuhara-Categories: threat\nX-Kasuhara-Lexicon: " + testLexiconVersion(t) + "\nX-Kasuhara-Skipped: part 2: bad base64\n",
			stderrHas: "scored without what it could not read: part 2: bad base64",
		},
		{
			name:      "unreadable mail passes with X-Kasuhara-Error and what was skipped",
			args:      []string{"--lexicon", "testdata/lexicon"},
			in:        "Content-Transfer-Encoding: base64\n\n!!!!\n",
			want:      "X-Kasuhara-Error: unparseable; not scored: no part of the message could be read\nX-Kasuhara-Skipped: part 1: bad base64\n",
			stderrHas: "unparseable: skipped part 1: bad base64",
		},
		{
			name:      "mail over --max-message-bytes passes whole, unscored",
			args:      []string{"--lexicon", "testdata/lexicon", "--max-message-bytes", "40"},
			in:        "Subject: long\n\n" + strings.Repeat("殺すぞ、責任者を出せ。\n", 50),
			want:      "X-Kasuhara-Error: too-large; not scored: the message is over the size limit (over 40 bytes)\n",
			stderrHas: "too-large",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runMail(context.Background(), c.args, strings.NewReader(c.in), &out, &errOut)
			if err != nil || exitCode(err) != 0 {
				t.Fatalf("err = %v (exit %d), want nil; stderr: %s", err, exitCode(err), errOut.String())
			}
			if got, want := out.String(), c.want+c.in; got != want {
				t.Errorf("output\n%q\nwant\n%q", got, want)
			}
			if c.stderrNone && errOut.Len() > 0 {
				t.Errorf("stderr %q, want nothing", errOut.String())
			}
			if !strings.Contains(errOut.String(), c.stderrHas) {
				t.Errorf("stderr %q lacks %q", errOut.String(), c.stderrHas)
			}
			if strings.Contains(errOut.String(), "殺") || strings.Contains(errOut.String(), "When will") {
				t.Errorf("stderr carries message text: %q", errOut.String())
			}
		})
	}
}

// TestMailThroughTheServer: mail --server is scored by the real server,
// on the sender's own text only: a threat in a quoted line would make
// this mail harassment if the server were sent it. How a server's answer
// maps to headers (categories highest first, errors) is tested in
// mailfilter/verdict.
func TestMailThroughTheServer(t *testing.T) {
	s := startServe(t, "--lexicon", "testdata/lexicon", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "")
	in := "Subject: question\n\nWhen will my order ship?\n> 殺すぞ\n"
	var out, errOut bytes.Buffer
	if err := runMail(context.Background(), []string{"--server", s.grpcAddr}, strings.NewReader(in), &out, &errOut); err != nil {
		t.Fatalf("err = %v; stderr: %s", err, errOut.String())
	}
	want := "X-Kasuhara-Label: routine\nX-Kasuhara-Score: 0\nX-Kasuhara-Categories: none\nX-Kasuhara-Lexicon: " + testLexiconVersion(t) + "\n" + in
	if out.String() != want || errOut.Len() != 0 {
		t.Errorf("output\n%q\nwant\n%q; stderr %q", out.String(), want, errOut.String())
	}
}

// testLexiconVersion is the version of testdata/lexicon, as classify reports it.
func testLexiconVersion(t *testing.T) string {
	t.Helper()
	var out bytes.Buffer
	if err := runClassify(context.Background(), []string{"--lexicon", "testdata/lexicon"}, strings.NewReader(`{"id":1,"text":"x"}`), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_, v, ok := strings.Cut(out.String(), `"lexicon_version":"`)
	v, _, _ = strings.Cut(v, `"`)
	if !ok || v == "" {
		t.Fatalf("no lexicon version in %s", out.String())
	}
	return v
}

func TestMailUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want error
	}{
		{"an argument is a usage error", []string{"message.eml"}, errUsage},
		{"an unknown flag is a usage error", []string{"--no-such-flag"}, errUsage},
		{"-h is help", []string{"-h"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runMail(context.Background(), c.args, strings.NewReader(plainRoutine), &out, &bytes.Buffer{})
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if c.want == nil && exitCode(err) != 0 {
				t.Errorf("err = %v, want exit 0", err)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q before parsing flags", out.String())
			}
		})
	}
	err := runMail(context.Background(), []string{"--max-message-bytes", "0"}, strings.NewReader(plainRoutine), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--max-message-bytes 0") {
		t.Errorf("err = %v, want it to name --max-message-bytes", err)
	}
}

// The mail and milter commands are in the command table.
func TestMailCommandsAreListed(t *testing.T) {
	var errOut bytes.Buffer
	dispatch(context.Background(), []string{"help"}, nil, &bytes.Buffer{}, &errOut)
	for _, name := range []string{"  mail ", "  milter "} {
		if !strings.Contains(errOut.String(), name) {
			t.Errorf("usage lacks %q:\n%s", name, errOut.String())
		}
	}
}

// The X-Kasuhara-* fields a sender wrote are dropped, folded ones whole, so
// that a procmail or sieve rule sees only the gateway's verdict, as behind
// the milter; a message too large to score loses them too.
func TestMailDropsForgedVerdicts(t *testing.T) {
	lex := testLexiconVersion(t)
	cases := []struct {
		name, args, in, want string
	}{
		{name: "forged fields before and after Subject go",
			in:   "X-Kasuhara-Label: routine\nSubject: x\nx-kasuhara-score: 0\n  folded\nX-KASUHARA-Categories: none\nX-Other: kept\n\n殺すぞ\nX-Kasuhara-Label: routine in the body stays\n",
			want: "X-Kasuhara-Label: harassment\nX-Kasuhara-Score: 1\nX-Kasuhara-Categories: threat\nX-Kasuhara-Lexicon: " + lex + "\nSubject: x\nX-Other: kept\n\n殺すぞ\nX-Kasuhara-Label: routine in the body stays\n"},
		{name: "an mbox From line stays first",
			in:   "From a@b Wed May  1 12:00:00 2024\r\nX-Kasuhara-Label: routine\r\nSubject: hi\r\n\r\nhello\r\n",
			want: "From a@b Wed May  1 12:00:00 2024\r\nX-Kasuhara-Label: routine\r\nX-Kasuhara-Score: 0\r\nX-Kasuhara-Categories: none\r\nX-Kasuhara-Lexicon: " + lex + "\r\nSubject: hi\r\n\r\nhello\r\n"},
		{name: "too large to score, still without them", args: "--max-message-bytes 60",
			in:   "X-Kasuhara-Label: routine\nSubject: long\n\n" + strings.Repeat("殺すぞ\n", 30),
			want: "X-Kasuhara-Error: too-large; not scored: the message is over the size limit (over 60 bytes)\nSubject: long\n\n" + strings.Repeat("殺すぞ\n", 30)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"--lexicon", "testdata/lexicon"}, strings.Fields(c.args)...)
			if err := runMail(context.Background(), args, strings.NewReader(c.in), &out, &errOut); err != nil {
				t.Fatalf("err = %v; stderr: %s", err, errOut.String())
			}
			if out.String() != c.want {
				t.Errorf("output\n%q\nwant\n%q", out.String(), c.want)
			}
		})
	}
}

// TestMailSendsTheServerAPIKey: against the real server started with
// --api-key-file, mail --server is refused without a key and scores the
// mail with --server-api-key-file.
func TestMailSendsTheServerAPIKey(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("# gateway\nk-mail\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "", "--api-key-file", keys)
	for _, c := range []struct {
		name, want string
		args       []string
	}{
		{"without a key the mail passes unscored", "X-Kasuhara-Error: classify-failed", []string{"--server", s.grpcAddr}},
		{"with the key file it is scored", "X-Kasuhara-Label: harassment", []string{"--server", s.grpcAddr, "--server-api-key-file", keys}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runMail(context.Background(), c.args, strings.NewReader(plainThreat), &out, &errOut); err != nil {
				t.Fatalf("err = %v; stderr: %s", err, errOut.String())
			}
			if !strings.Contains(out.String(), c.want) {
				t.Errorf("output has no %q:\n%s\nstderr: %s", c.want, out.String(), errOut.String())
			}
		})
	}
	t.Run("a key file with no key is an error, and the mail still passes", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		os.WriteFile(empty, []byte("# none\n"), 0o600)
		var out, errOut bytes.Buffer
		if err := runMail(context.Background(), []string{"--server", s.grpcAddr, "--server-api-key-file", empty}, strings.NewReader(plainThreat), &out, &errOut); err != nil {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(out.String(), "X-Kasuhara-Error") || !strings.Contains(errOut.String(), "no key") {
			t.Errorf("output %q, stderr %q: want X-Kasuhara-Error and a word on the missing key", out.String(), errOut.String())
		}
	})
}
