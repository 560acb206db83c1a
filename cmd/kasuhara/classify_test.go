package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/evaluation"
)

func TestClassifyLines(t *testing.T) {
	in := strings.Join([]string{
		`{"id":"a","text":"殺してやる"}`,
		``,
		`{"id":7,"text":"責任者を出してください","label":"escalate","tags":["x"]}`,
		`not json`,
		`{"id":"c","text":""}`,
		`{"id":"d"}`,
		"{\"id\":\"e\",\"text\":\"bad \xff utf8\"}",
		`{"id":"f","text":"発送はいつですか"}`,
	}, "\n")
	var out, errOut bytes.Buffer
	err := runClassify(context.Background(), []string{"--lexicon", "testdata/lexicon"}, strings.NewReader(in), &out, &errOut)
	if !errors.Is(err, errSomeLinesFailed) {
		t.Fatalf("err = %v, want errSomeLinesFailed", err)
	}
	if exitCode(err) != 1 {
		t.Errorf("exit code %d, want 1", exitCode(err))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []struct {
		id, label, errHas string
		line              int
	}{
		{id: `"a"`, label: "harassment"},
		{id: `7`, label: "escalate"},
		{line: 4, errHas: "invalid JSON"},
		{id: `"c"`, line: 5, errHas: "text: empty"},
		{id: `"d"`, line: 6, errHas: `missing "text"`},
		{line: 7, errHas: "not valid UTF-8"},
		{id: `"f"`, label: "routine"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		var got struct {
			ID     json.RawMessage    `json:"id"`
			Label  string             `json:"label"`
			Line   int                `json:"line"`
			Error  string             `json:"error"`
			Match  []evaluation.Match `json:"matches"`
			LexVer string             `json:"lexicon_version"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if w.id != "" && string(got.ID) != w.id {
			t.Errorf("line %d: id %s, want %s", i+1, got.ID, w.id)
		}
		if got.Label != w.label {
			t.Errorf("line %d: label %q, want %q", i+1, got.Label, w.label)
		}
		if w.errHas != "" && (got.Line != w.line || !strings.Contains(got.Error, w.errHas)) {
			t.Errorf("line %d: error %q at line %d, want %q at line %d", i+1, got.Error, got.Line, w.errHas, w.line)
		}
		if w.label != "" && got.LexVer == "" {
			t.Errorf("line %d: no lexicon_version", i+1)
		}
	}
}

func TestClassifyAllGoodExitsZero(t *testing.T) {
	var out bytes.Buffer
	err := runClassify(context.Background(), []string{"--lexicon", "testdata/lexicon"},
		strings.NewReader(`{"id":"a","text":"殺すぞ"}`), &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var r evaluation.Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Label != "harassment" || len(r.Matches) != 1 || r.Matches[0].Start != 0 || r.Matches[0].End != 2 || r.Categories["threat"] != 1 {
		t.Errorf("result %+v", r)
	}
}

func TestClassifyLineTooLong(t *testing.T) {
	huge := `{"id":"huge","text":"` + strings.Repeat("あ", 2000) + `"}` // over the line cap
	long := `{"id":"big","text":"` + strings.Repeat("あ", 400) + `"}`   // over --max-text-bytes
	in := huge + "\n" + long + "\n" + `{"id":"ok","text":"殺すぞ"}` + "\n"
	var out bytes.Buffer
	err := runClassify(context.Background(), []string{"--lexicon", "testdata/lexicon", "--max-text-bytes", "100"},
		strings.NewReader(in), &out, &bytes.Buffer{})
	if !errors.Is(err, errSomeLinesFailed) {
		t.Fatalf("err = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "longer than") ||
		!strings.Contains(lines[1], "text: 1200 bytes, want <= 100") || !strings.Contains(lines[2], `"ok"`) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestBadFlagsAndLexicon(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"classify", "--no-such-flag"}, 2},
		{[]string{"classify", "--lexicon", "testdata/does-not-exist"}, 1},
		{[]string{"nosuchcommand"}, 2},
		{[]string{"explain", "--harassment-threshold", "2", "x"}, 1},
		{[]string{"classify", "-h"}, 0},
	} {
		err := dispatch(context.Background(), tt.args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if got := exitCode(err); got != tt.code {
			t.Errorf("%q: exit %d (%v), want %d", tt.args, got, err, tt.code)
		}
	}
}

func TestExplain(t *testing.T) {
	var out bytes.Buffer
	if err := runExplain(context.Background(), []string{"--lexicon", "testdata/lexicon", "ｺﾛｽ", "いや", "殺すぞ"}, strings.NewReader(""), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"label:", "harassment", `"コロスいや殺すぞ"`, `"殺す"`, "threat.yaml:3", "[0,3)", "[7,9)", "基本形", "動詞,自立"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}
}
