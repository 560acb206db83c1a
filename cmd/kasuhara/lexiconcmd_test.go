package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/evaluation"
	"github.com/kasuhara/kasuhara/lexicon"
)

func TestLexiconDumpWritesTheDefaultByteForByte(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mylex")
	var out bytes.Buffer
	if err := runLexicon(context.Background(), []string{"dump", "--out", dir}, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want, err := fs.Glob(lexicon.DefaultFS(), "*")
	if err != nil || len(want) == 0 {
		t.Fatalf("default lexicon files %q, %v", want, err)
	}
	got, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("wrote %d files, the default has %d", len(got), len(want))
	}
	for _, name := range want {
		w, err := fs.ReadFile(lexicon.DefaultFS(), name)
		if err != nil {
			t.Fatal(err)
		}
		g, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s differs from the embedded file", name)
		}
		if !strings.Contains(out.String(), "wrote "+filepath.Join(dir, name)+"\n") {
			t.Errorf("output does not name %s:\n%s", name, out.String())
		}
	}
}

func TestLexiconDumpRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	name, err := fs.Glob(lexicon.DefaultFS(), "*.yaml")
	if err != nil || len(name) == 0 {
		t.Fatalf("default lexicon files %q, %v", name, err)
	}
	edited := filepath.Join(dir, name[0])
	if err := os.WriteFile(edited, []byte("# my edits\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runLexicon(context.Background(), []string{"dump", "--out", dir}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), edited+" exists") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v, want one naming %s and --force", err, edited)
	}
	if b, _ := os.ReadFile(edited); string(b) != "# my edits\n" {
		t.Errorf("refused dump changed %s to %q", edited, b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("refused dump wrote %d files, want none besides the edited one", len(ents)-1)
	}

	if err := runLexicon(context.Background(), []string{"dump", "--out", dir, "--force"}, nil, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want, _ := fs.ReadFile(lexicon.DefaultFS(), name[0])
	if b, _ := os.ReadFile(edited); !bytes.Equal(b, want) {
		t.Errorf("--force left %s as %q", edited, b)
	}
}

func TestLexiconUsage(t *testing.T) {
	tests := []struct {
		args []string
		want error
	}{
		{nil, errUsage},
		{[]string{"frobnicate"}, errUsage},
		{[]string{"-h"}, flag.ErrHelp},
		{[]string{"dump"}, errUsage}, // no --out
		{[]string{"dump", "--out", "x", "y"}, errUsage},
		{[]string{"lint", "stray"}, errUsage},
		{[]string{"diff", "--old", "default", "--new", "default"}, errUsage}, // no --corpus
		{[]string{"diff", "--lexicon", "x"}, errUsage},                       // --old and --new stand for it
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := runLexicon(context.Background(), tt.args, nil, &bytes.Buffer{}, &stderr)
		if !errors.Is(err, tt.want) {
			t.Errorf("lexicon %q: err = %v, want %v", tt.args, err, tt.want)
		}
		if stderr.Len() == 0 {
			t.Errorf("lexicon %q: nothing on stderr", tt.args)
		}
	}
}

func TestLexiconLint(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		ok      bool
		entries int
		want    []evaluation.Problem // message: a part it must have
	}{
		{name: "a clean lexicon exits zero", dir: "testdata/eval/lexicon", ok: true, entries: 3},
		{name: "tokenizer problems name file and line", dir: "testdata/lintcmd/bad", entries: 2, want: []evaluation.Problem{
			{File: "testdata/lintcmd/bad/threat.yaml", Line: 3, Message: `counter-example "必ず殺す" makes it fire`},
			{File: "testdata/lintcmd/bad/threat.yaml", Line: 7, Message: `threat phrase "殺してやる" never fires on its own text`},
		}},
		{name: "loading problems come in the same form", dir: "testdata/lintcmd/broken", want: []evaluation.Problem{
			{File: "testdata/lintcmd/broken/abuse.yaml", Line: 4, Message: `unknown key "wieght"; expect pattern|weight`},
			{File: "testdata/lintcmd/broken/abuse.yaml", Line: 6, Message: "weight 1.5 out of range; expect a number in [0,1]"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var text, js bytes.Buffer
			errText := runLexicon(context.Background(), []string{"lint", "--lexicon", tt.dir}, nil, &text, &bytes.Buffer{})
			errJSON := runLexicon(context.Background(), []string{"lint", "--lexicon", tt.dir, "--json"}, nil, &js, &bytes.Buffer{})
			for _, err := range []error{errText, errJSON} {
				if tt.ok && err != nil {
					t.Errorf("err = %v, want nil", err)
				}
				if !tt.ok && (!errors.Is(err, errLintFailed) || exitCode(err) != 1) {
					t.Errorf("err = %v, want errLintFailed and exit status 1", err)
				}
			}
			var got evaluation.LintReport
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, js.String())
			}
			if got.OK != tt.ok || got.Entries != tt.entries || got.Errors == nil {
				t.Errorf("ok %v, entries %d, errors %v; want ok %v, entries %d", got.OK, got.Entries, got.Errors, tt.ok, tt.entries)
			}
			if tt.entries > 0 && len(got.Version) != 16 {
				t.Errorf("version %q, want the lexicon's", got.Version)
			}
			if len(got.Errors) != len(tt.want) {
				t.Fatalf("%d errors, want %d: %+v", len(got.Errors), len(tt.want), got.Errors)
			}
			lines := strings.Split(strings.TrimSpace(text.String()), "\n")
			for i, w := range tt.want {
				g := got.Errors[i]
				if g.File != w.File || g.Line != w.Line || !strings.Contains(g.Message, w.Message) {
					t.Errorf("error %d = %+v, want %s:%d with %q", i, g, w.File, w.Line, w.Message)
				}
				if prefix := w.File + ":" + strconv.Itoa(w.Line) + ": "; i >= len(lines) || lines[i] != prefix+g.Message {
					t.Errorf("text line %d does not read %q + message:\n%s", i+1, prefix, text.String())
				}
			}
			if tt.ok && !strings.HasPrefix(text.String(), "ok: 3 entries, lexicon version "+got.Version) {
				t.Errorf("text output %q, want an ok line", text.String())
			}
		})
	}
}

func TestLexiconDiff(t *testing.T) {
	var out bytes.Buffer
	args := []string{"diff", "--old", "testdata/lexdiff/old", "--new", "testdata/lexdiff/new", "--corpus", "testdata/lexdiff/corpus.jsonl"}
	if err := runLexicon(context.Background(), append(args, "--json"), nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var got evaluation.DiffReport
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	type change struct {
		id, old, new, gold string
		onlyOld, onlyNew   []string // entries
		reweighted         string   // "entry old→new"
	}
	want := []change{
		{id: "d2", old: "harassment", new: "escalate", gold: "harassment", reweighted: "無能 0.9→0.6"},
		{id: "d3", old: "routine", new: "harassment", gold: "harassment", onlyNew: []string{"バカ"}},
		{id: "d4", old: "escalate", new: "routine", gold: "escalate", onlyOld: []string{"責任者"}},
		{id: "d5", old: "routine", new: "escalate", gold: "escalate", onlyNew: []string{"消費者センター"}},
		{id: "d7", old: "escalate", new: "routine", onlyOld: []string{"責任者"}},
	}
	if len(got.Changed) != len(want) {
		t.Fatalf("%d changed, want %d: %+v", len(got.Changed), len(want), got.Changed)
	}
	entries := func(ms []evaluation.Match) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Entry)
		}
		return strings.Join(s, ",")
	}
	for i, w := range want {
		g := got.Changed[i]
		if evaluation.IDString(g.ID) != w.id || g.Old != w.old || g.New != w.new || g.Gold != w.gold {
			t.Errorf("change %d = %s %s→%s gold %q, want %s %s→%s gold %q", i, g.ID, g.Old, g.New, g.Gold, w.id, w.old, w.new, w.gold)
		}
		if entries(g.OnlyOld) != strings.Join(w.onlyOld, ",") || entries(g.OnlyNew) != strings.Join(w.onlyNew, ",") {
			t.Errorf("%s: only old %q, only new %q; want %q, %q", w.id, entries(g.OnlyOld), entries(g.OnlyNew), w.onlyOld, w.onlyNew)
		}
		var rw []string
		for _, r := range g.Reweighted {
			rw = append(rw, r.Entry+" "+jsonFloat(r.OldWeight)+"→"+jsonFloat(r.NewWeight))
		}
		if strings.Join(rw, ",") != w.reweighted {
			t.Errorf("%s: reweighted %q, want %q", w.id, rw, w.reweighted)
		}
	}
	wantTransitions := map[string]int{"harassment->escalate": 1, "routine->harassment": 1, "escalate->routine": 2, "routine->escalate": 1}
	if len(got.Transitions) != len(wantTransitions) {
		t.Errorf("transitions %v, want %v", got.Transitions, wantTransitions)
	}
	for k, n := range wantTransitions {
		if got.Transitions[k] != n {
			t.Errorf("transitions[%s] = %d, want %d", k, got.Transitions[k], n)
		}
	}
	if got.N != 7 || got.Fixed != 2 || got.Broken != 2 || got.OldVersion == got.NewVersion {
		t.Errorf("n %d, fixed %d, broken %d, versions %s %s; want 7, 2, 2 and two versions", got.N, got.Fixed, got.Broken, got.OldVersion, got.NewVersion)
	}

	out.Reset()
	if err := runLexicon(context.Background(), args, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"d2 (line 2): harassment → escalate, gold harassment\n  \"無能な店員ですね\"\n  reweighted: abuse \"無能\" weight 0.90 → 0.60\n",
		"d3 (line 3): routine → harassment, gold harassment\n  \"バカじゃないの\"\n  only new:\n    abuse \"バカ\" on \"バカ\" [0,2) weight 0.90\n",
		"d7 (line 7): escalate → routine\n",
		"escalate → routine       2\n",
		"5 of 7 messages change label",
		"2 fixed, 2 broken",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not have %q:\n%s", want, out.String())
		}
	}
}

func jsonFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestLexiconDiffDefaultAgainstItself(t *testing.T) {
	var out bytes.Buffer
	err := runLexicon(context.Background(), []string{"diff", "--old", "default", "--new", "default", "--corpus", "testdata/lexdiff/corpus.jsonl", "--json"},
		nil, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var got evaluation.DiffReport
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	def, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Changed) != 0 || got.N != 7 || got.OldVersion != def.Version || got.NewVersion != def.Version {
		t.Errorf("default against itself: %d changed of %d, versions %s %s; want none of 7, both %s",
			len(got.Changed), got.N, got.OldVersion, got.NewVersion, def.Version)
	}
}

func TestLexiconLintCoverage(t *testing.T) {
	const dir = "testdata/lintcmd/coverage"
	lex := dir + "/lexicon/abuse.yaml"
	tests := []struct {
		name     string
		corpora  []string
		findings []string // text lines between the ok line and the summary
		summary  string
		bad      []string // stderr lines
		counts   [5]int   // messages, entries never, once, phrases never, once
	}{
		{
			name:    "findings are advisory: a clean corpus exits zero",
			corpora: []string{dir + "/clean.jsonl"},
			findings: []string{
				lex + `:3: abuse entry "バカ" fires on one message only, ` + dir + `/clean.jsonl:1 (id c1)`,
				lex + `:3: abuse entry "バカ" phrase "アホ" never fires on the corpus`,
				lex + `:6: abuse entry "クズ" never fires on the corpus`,
				lex + `:8: abuse entry "役立たず" fires on one message only, ` + dir + `/clean.jsonl:2 (id 7)`,
			},
			summary: "coverage: 2 messages; 3 entries: 1 never fire (33.3%), 2 fire once (66.7%); 4 phrases: 2 never fire (50.0%), 2 fire once (50.0%); 1 corpus files, 0 bad lines",
			counts:  [5]int{2, 1, 2, 2, 2},
		},
		{
			name:    "bad lines are reported by file and line and the rest still counts",
			corpora: []string{dir + "/a.jsonl", dir + "/b.jsonl"},
			findings: []string{
				lex + `:3: abuse entry "バカ" phrase "アホ" never fires on the corpus`,
				lex + `:6: abuse entry "クズ" fires on one message only, ` + dir + `/b.jsonl:1 (id b1)`,
				lex + `:8: abuse entry "役立たず" never fires on the corpus`,
			},
			summary: "coverage: 4 messages; 3 entries: 1 never fire (33.3%), 1 fire once (33.3%); 4 phrases: 2 never fire (50.0%), 1 fire once (25.0%); 2 corpus files, 3 bad lines",
			bad: []string{
				dir + "/a.jsonl:3: invalid JSON at byte 2",
				dir + "/b.jsonl:2: text: empty, want some text",
				dir + `/b.jsonl:3: missing "text"`,
			},
			counts: [5]int{4, 1, 1, 2, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"lint", "--lexicon", dir + "/lexicon", "--coverage"}, tt.corpora...)
			var text, stderr, js bytes.Buffer
			errText := runLexicon(context.Background(), args, nil, &text, &stderr)
			jsonArgs := append([]string{"lint", "--lexicon", dir + "/lexicon", "--json", "--coverage"}, tt.corpora...)
			errJSON := runLexicon(context.Background(), jsonArgs, nil, &js, &bytes.Buffer{})
			for _, err := range []error{errText, errJSON} {
				if len(tt.bad) == 0 && err != nil {
					t.Errorf("err = %v, want nil: coverage findings do not fail lint", err)
				}
				if len(tt.bad) > 0 && (err == nil || !strings.Contains(err.Error(), "3 bad corpus lines") || exitCode(err) != 1) {
					t.Errorf("err = %v, want exit status 1 for 3 bad corpus lines", err)
				}
			}
			lines := strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n")
			want := append(append([]string{"ok: 3 entries, lexicon version "}, tt.findings...), tt.summary)
			if len(lines) != len(want) {
				t.Fatalf("output:\n%s\nwant %d lines:\n%s", text.String(), len(want), strings.Join(want, "\n"))
			}
			for i, w := range want {
				if i == 0 && !strings.HasPrefix(lines[0], w) || i > 0 && lines[i] != w {
					t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
				}
			}
			gotBad := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(tt.bad) == 0 && stderr.Len() > 0 || len(tt.bad) > 0 && strings.Join(gotBad, "\n") != strings.Join(tt.bad, "\n") {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), strings.Join(tt.bad, "\n"))
			}

			var got evaluation.LintReport
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, js.String())
			}
			cov := got.Coverage
			if cov == nil || !got.OK {
				t.Fatalf("ok %v, coverage %v; want ok and a coverage report", got.OK, cov)
			}
			counts := [5]int{cov.Messages, cov.EntriesNever, cov.EntriesOnce, cov.PhrasesNever, cov.PhrasesOnce}
			if counts != tt.counts || cov.Entries != 3 || cov.Phrases != 4 || len(cov.Corpora) != len(tt.corpora) || len(cov.BadLines) != len(tt.bad) {
				t.Errorf("counts %v, %d entries, %d phrases, %d corpora, %d bad lines; want %v, 3, 4, %d, %d",
					counts, cov.Entries, cov.Phrases, len(cov.Corpora), len(cov.BadLines), tt.counts, len(tt.corpora), len(tt.bad))
			}
			if len(cov.Findings) != len(tt.findings) {
				t.Fatalf("%d findings, want %d", len(cov.Findings), len(tt.findings))
			}
			for i, f := range cov.Findings {
				if line := f.File + ":" + strconv.Itoa(f.Line) + ": " + f.Message; line != tt.findings[i] {
					t.Errorf("finding %d reads %q, want %q", i, line, tt.findings[i])
				}
				if (f.Messages == 1) != (f.Once != nil) || f.Once != nil && !strings.Contains(f.Message, f.Once.String()) {
					t.Errorf("finding %d: messages %d, once %+v; want the one message named", i, f.Messages, f.Once)
				}
			}
			for _, path := range tt.corpora {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(string(data), "\n") {
					var m struct{ Text string }
					if json.Unmarshal([]byte(line), &m) != nil || strings.TrimSpace(m.Text) == "" {
						continue
					}
					for _, out := range []string{text.String(), stderr.String(), js.String()} {
						if strings.Contains(out, m.Text) {
							t.Errorf("output prints the text of a message: %q", m.Text)
						}
					}
				}
			}
		})
	}
}

func TestLexiconLintCoverageUsage(t *testing.T) {
	for _, args := range [][]string{
		{"lint", "--coverage"},
		{"lint", "--coverage", "testdata/lintcmd/coverage/clean.jsonl", "--json"},
		{"lint", "--forms", "バカ", "--coverage", "testdata/lintcmd/coverage/clean.jsonl"},
		{"lint", "--forms", "バカ", "stray"},
		{"lint", "testdata/lintcmd/coverage/clean.jsonl"}, // corpora need --coverage
	} {
		var stderr bytes.Buffer
		if err := runLexicon(context.Background(), args, nil, &bytes.Buffer{}, &stderr); !errors.Is(err, errUsage) || stderr.Len() == 0 {
			t.Errorf("lexicon %q: err = %v, stderr %q; want a usage error", args, err, stderr.String())
		}
	}
	err := runLexicon(context.Background(), []string{"lint", "--lexicon", "testdata/lintcmd/coverage/lexicon", "--coverage", "testdata/lintcmd/coverage/missing.jsonl"},
		nil, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing corpus: err = %v, want fs.ErrNotExist", err)
	}
}

func TestLexiconLintForms(t *testing.T) {
	args := []string{"lint", "--lexicon", "testdata/lintcmd/coverage/lexicon", "--forms"}
	var out bytes.Buffer
	if err := runLexicon(context.Background(), append(args, "バカ"), nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		`testdata/lintcmd/coverage/lexicon/abuse.yaml:3: abuse entry "バカ", weight 0.90, 2 phrases`,
		`  "バカ": バカ[lemma ばか; spelt ばか; noun kana]`,
		`  "アホ": アホ[lemma あほ; spelt あほ; noun kana]`,
	}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], want[i])
		}
	}

	out.Reset()
	if err := runLexicon(context.Background(), []string{"lint", "--lexicon", "testdata/lintcmd/coverage/lexicon", "--json", "--forms", "クズ"}, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var forms []evaluation.EntryForms
	if err := json.Unmarshal(out.Bytes(), &forms); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if len(forms) != 1 || forms[0].Entry != "クズ" || forms[0].Line != 6 || len(forms[0].Phrases) != 1 || len(forms[0].Phrases[0].Patterns) == 0 ||
		!strings.HasPrefix(forms[0].Phrases[0].Patterns[0], "クズ[lemma ") {
		t.Errorf("forms %+v, want クズ at line 6 with its pattern", forms)
	}

	err := runLexicon(context.Background(), append(args, "バカだ"), nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `no entry "バカだ"; close: "バカ"`) || exitCode(err) != 1 {
		t.Errorf("unknown entry: err = %v, want one naming the close entry バカ", err)
	}
}
