package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kasuhara/kasuhara/lexicon"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

var update = flag.Bool("update", false, "rewrite the console samples in README.md and docs/*.md from what the commands print")

// docFiles are the pages whose samples TestDocSamples runs, from the
// repository root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

// sharedCorpora is ../shared beside the repository, or "" (the test then
// skips, or fails in CI).
func sharedCorpora(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../shared")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "eval", "dev.jsonl"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the shared corpora: %v", err)
		}
		t.Skipf("the shared corpora are not beside the repository: %v", err)
	}
	return dir
}

// block is a fenced code block of a Markdown page.
type block struct {
	lang      string
	start     int    // index of the line after the opening fence
	end       int    // index of the closing fence
	directive string // a <!-- docs-test: … --> comment just before the fence
}

// blocks returns the fenced code blocks of lines.
func blocks(lines []string) []block {
	var out []block
	for i := 0; i < len(lines); i++ {
		if d, ok := strings.CutPrefix(lines[i], "<!-- docs-test: "); ok && (i+1 == len(lines) || !strings.HasPrefix(lines[i+1], "```")) {
			// A directive of its own, with no block: an edit described in prose.
			out = append(out, block{start: i, end: i, directive: strings.TrimSuffix(d, " -->")})
			continue
		}
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		b := block{lang: strings.TrimPrefix(lines[i], "```"), start: i + 1}
		if i > 0 {
			if d, ok := strings.CutPrefix(lines[i-1], "<!-- docs-test: "); ok {
				b.directive = strings.TrimSuffix(d, " -->")
			}
		}
		for i++; i < len(lines) && lines[i] != "```"; i++ {
		}
		b.end = i
		out = append(out, b)
	}
	return out
}

// TestDocSamples runs every console sample of README.md and docs/*.md, in
// order, with the real binary, in a scratch directory laid out as the
// repository root is (with ../shared beside it), against the embedded
// default lexicon, and checks that each command prints what the page shows
// (stdout and stderr together, as a terminal shows them). A line "…" stands for
// lines left out. Files a page writes come from its samples: a `cat >
// FILE <<'EOF'` in a console block, or a YAML block marked
// <!-- docs-test: append FILE --> (added to FILE) or <!-- docs-test:
// replace FILE --> (in place of what the last append added); an edit the
// prose describes is <!-- docs-test: substitute FILE OLD NEW --> on a line
// of its own.
//
// With -update it rewrites each sample's output from what the command
// prints, keeping the lines left out as they are: a shown line is matched
// to an output line by its text with numbers and hashes blanked out.
func TestDocSamples(t *testing.T) {
	shared := sharedCorpora(t)
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := kasuharaBinary(t)
	for _, page := range docFiles(t) {
		abs, err := filepath.Abs(page)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(page), func(t *testing.T) { checkPageSamples(t, bin, abs, shared) })
	}
}

// checkPageSamples runs the console samples of the page at path (see
// TestDocSamples) with the binary bin and shared as ../shared.
func checkPageSamples(t *testing.T, bin, path, shared string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	scratch := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(filepath.Dir(scratch), "shared")); err != nil {
		t.Fatal(err)
	}
	run := &sampleRun{t: t, page: filepath.Base(path), bin: bin, dir: scratch}
	var edits []rewrite
	for _, b := range blocks(lines) {
		switch {
		case b.lang == "console":
			edits = append(edits, run.console(lines, b)...)
		case b.directive != "":
			run.edit(lines[b.start:b.end], b.directive)
		}
	}
	if len(edits) == 0 {
		return
	}
	for i := len(edits) - 1; i >= 0; i-- { // from the end: earlier indices stay good
		e := edits[i]
		lines = append(lines[:e.start], append(e.lines, lines[e.end:]...)...)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote the samples of %s", path)
}

// sampleRun is the state of one page's samples: the last text an append
// directive added, for replace.
type sampleRun struct {
	t        *testing.T
	page     string
	bin      string // the binary a sample's kasuhara is
	dir      string // the working directory the samples run in
	appended map[string]string
}

// edit applies a docs-test directive to the file it names.
func (r *sampleRun) edit(text []string, directive string) {
	r.t.Helper()
	verb, file, _ := strings.Cut(directive, " ")
	name, args, _ := strings.Cut(file, " ")
	file = filepath.Join(r.dir, name)
	body := strings.Join(text, "\n") + "\n"
	old, err := os.ReadFile(file)
	if err != nil {
		r.t.Fatalf("%s: %s %s: %v", r.page, verb, file, err)
	}
	switch verb {
	case "substitute": // substitute FILE OLD NEW: the first OLD in FILE becomes NEW
		from, to, ok := strings.Cut(args, " ")
		if !ok || !bytes.Contains(old, []byte(from)) {
			r.t.Fatalf("%s: %s: no %q in %s", r.page, directive, from, file)
		}
		old = bytes.Replace(old, []byte(from), []byte(to), 1)
		if prev, ok := r.appended[file]; ok {
			r.appended[file] = strings.Replace(prev, from, to, 1)
		}
		if err := os.WriteFile(file, old, 0o644); err != nil {
			r.t.Fatal(err)
		}
		return
	case "append":
		old = append(old, body...)
	case "replace":
		prev, ok := r.appended[file]
		if !ok || !bytes.Contains(old, []byte(prev)) {
			r.t.Fatalf("%s: replace %s: nothing appended to replace", r.page, file)
		}
		old = bytes.Replace(old, []byte(prev), []byte(body), 1)
	default:
		r.t.Fatalf("%s: unknown docs-test directive %q", r.page, directive)
	}
	if r.appended == nil {
		r.appended = map[string]string{}
	}
	r.appended[file] = body
	if err := os.WriteFile(file, old, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// rewrite is lines[start:end] of a page to be replaced by lines.
type rewrite struct {
	start, end int
	lines      []string
}

// console runs the commands of a console block and checks what each
// printed, or under -update returns how to rewrite the outputs that
// differ, in page order.
func (r *sampleRun) console(lines []string, b block) (edits []rewrite) {
	r.t.Helper()
	type cmd struct{ line, outStart, outEnd int }
	var cmds []cmd
	for i := b.start; i < b.end; i++ {
		if strings.HasPrefix(lines[i], "$ ") {
			if n := len(cmds); n > 0 {
				cmds[n-1].outEnd = i
			}
			cmds = append(cmds, cmd{line: i, outStart: i + 1})
		}
	}
	if len(cmds) == 0 {
		r.t.Errorf("%s:%d: a console block with no $ command", r.page, b.start)
		return nil
	}
	cmds[len(cmds)-1].outEnd = b.end
	outputs := make([][]string, len(cmds))
	for ci, c := range cmds {
		text := strings.TrimPrefix(lines[c.line], "$ ")
		args, err := shellWords(text)
		stdin := ""
		if err != nil {
			r.t.Fatalf("%s:%d: %v", r.page, c.line+1, err)
		}
		switch {
		case len(args) == 4 && args[0] == "cat" && args[1] == ">" && strings.HasPrefix(args[3], "<<"):
			// A here-document: the lines up to its end word are the file.
			end := strings.Trim(strings.TrimPrefix(args[3], "<<"), "'\"")
			body := lines[c.outStart:c.outEnd]
			if len(body) == 0 || body[len(body)-1] != end {
				r.t.Fatalf("%s:%d: here-document does not end with %s", r.page, c.line+1, end)
			}
			if err := os.WriteFile(filepath.Join(r.dir, args[2]), []byte(strings.Join(body[:len(body)-1], "\n")+"\n"), 0o644); err != nil {
				r.t.Fatal(err)
			}
			outputs[ci] = nil
			continue
		case len(args) > 0 && args[0] == "kasuhara":
		case len(args) > 3 && args[0] == "echo" && args[2] == "|" && args[3] == "kasuhara":
			stdin, args = args[1]+"\n", args[3:]
		default:
			r.t.Fatalf("%s:%d: a console sample runs %q: only kasuhara commands, echo TEXT | kasuhara and cat > FILE <<'EOF' are checked", r.page, c.line+1, text)
		}
		// The real binary, as a reader runs it: stdout and stderr on one
		// pipe, as a terminal shows them.
		var out bytes.Buffer
		run := exec.Command(r.bin, args[1:]...)
		run.Dir, run.Stdin, run.Stdout, run.Stderr = r.dir, strings.NewReader(stdin), &out, &out
		if err := run.Run(); err != nil && !errors.As(err, new(*exec.ExitError)) {
			r.t.Fatalf("%s:%d: %v", r.page, c.line+1, err)
		}
		outputs[ci] = strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	}
	for ci, c := range cmds {
		if outputs[ci] == nil {
			continue
		}
		want := lines[c.outStart:c.outEnd]
		got := outputs[ci]
		if sampleMatches(want, got, exact) {
			continue
		}
		if !*update {
			r.t.Errorf("%s:%d: %s prints\n%s\nthe page shows\n%s\n(go test ./cmd/kasuhara -run TestDocSamples -update rewrites it)",
				r.page, c.line+1, lines[c.line], strings.Join(got, "\n"), strings.Join(want, "\n"))
			continue
		}
		fresh, ok := rewriteSample(want, got)
		if !ok {
			r.t.Errorf("%s:%d: %s: cannot find the shown lines in what it prints now; rewrite the sample by hand from:\n%s",
				r.page, c.line+1, lines[c.line], strings.Join(got, "\n"))
			continue
		}
		edits = append(edits, rewrite{c.outStart, c.outEnd, fresh})
	}
	return edits
}

// elision is the line that stands for lines left out of a sample.
const elision = "…"

// exact compares two lines as they are.
func exact(a, b string) bool { return a == b }

// numbersAndHashes are what -update lets differ between a shown line and
// the output line it stands for.
var numbersAndHashes = regexp.MustCompile(`[0-9a-f]{16}|[0-9]+(\.[0-9]+)?`)

// alike compares two lines with their numbers and hashes blanked out.
func alike(a, b string) bool {
	return numbersAndHashes.ReplaceAllString(a, "#") == numbersAndHashes.ReplaceAllString(b, "#")
}

// segments splits want at its elision lines.
func segments(want []string) (segs [][]string, open []bool) {
	open = make([]bool, 2) // whether want starts, ends with an elision
	var cur []string
	for i, l := range want {
		if l == elision {
			if i == 0 {
				open[0] = true
			}
			if len(cur) > 0 {
				segs = append(segs, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	open[1] = len(want) > 0 && want[len(want)-1] == elision
	return segs, open
}

// locate finds where each segment of want is in got, in order, each a
// contiguous run of lines, the first at the start and the last at the end
// unless want opens or ends with an elision; same compares lines.
func locate(want, got []string, same func(a, b string) bool) (at []int, ok bool) {
	segs, open := segments(want)
	if len(segs) == 0 {
		return nil, len(got) == 0 || open[0]
	}
	if !open[0] && !open[1] && len(segs) == 1 && len(segs[0]) != len(got) {
		return nil, false
	}
	from := 0
	for si, seg := range segs {
		found := -1
		for i := from; i+len(seg) <= len(got); i++ {
			if si == 0 && !open[0] && i > 0 {
				break
			}
			if si == len(segs)-1 && !open[1] && i+len(seg) != len(got) {
				continue
			}
			match := true
			for j, l := range seg {
				if !same(l, got[i+j]) {
					match = false
					break
				}
			}
			if match {
				found = i
				break
			}
		}
		if found < 0 {
			return nil, false
		}
		at = append(at, found)
		from = found + len(seg)
	}
	return at, true
}

// sampleMatches reports whether got shows as want does.
func sampleMatches(want, got []string, same func(a, b string) bool) bool {
	_, ok := locate(want, got, same)
	return ok
}

// rewriteSample is want with each shown line replaced by the output line it
// stands for, found as alike; elisions stay.
func rewriteSample(want, got []string) ([]string, bool) {
	if !strings.Contains(strings.Join(want, "\n"), elision) {
		return got, true
	}
	at, ok := locate(want, got, alike)
	if !ok {
		return nil, false
	}
	segs, _ := segments(want)
	out := make([]string, 0, len(want))
	si := 0
	for i := 0; i < len(want); {
		if want[i] == elision {
			out = append(out, elision)
			i++
			continue
		}
		n := len(segs[si])
		out = append(out, got[at[si]:at[si]+n]...)
		i += n
		si++
	}
	return out, true
}

// shellWords splits a command line as sh would, for the quoting samples
// use: single and double quotes, backslash escapes outside quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c in %q", c, s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
			inWord = true
		case c == '\n' && (inWord || len(words) > 0):
			// The first command ends here; inside quotes a newline is text.
			if inWord {
				words = append(words, cur.String())
			}
			return words, nil
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestDocSampleMatching checks the elision rules TestDocSamples relies on.
func TestDocSampleMatching(t *testing.T) {
	got := []string{"a", "b 1", "c", "d", "e 2"}
	for _, c := range []struct {
		name string
		want []string
		ok   bool
	}{
		{"the whole output matches", []string{"a", "b 1", "c", "d", "e 2"}, true},
		{"a line missing without an elision does not", []string{"a", "b 1", "c", "e 2"}, false},
		{"an elision stands for lines left out", []string{"a", elision, "e 2"}, true},
		{"shown lines keep their order", []string{"a", elision, "d", elision, "c", elision}, false},
		{"a shown run is contiguous", []string{"a", elision, "c", "e 2"}, false},
		{"without a leading elision the sample starts the output", []string{"b 1", elision}, false},
		{"without a trailing elision the sample ends the output", []string{elision, "d"}, false},
		{"elisions at both ends", []string{elision, "c", "d", elision}, true},
		{"a changed line does not match", []string{"a", elision, "e 3"}, false},
	} {
		if got := sampleMatches(c.want, got, exact); got != c.ok {
			t.Errorf("%s: %q matches = %v, want %v", c.name, c.want, got, c.ok)
		}
	}
	fresh, ok := rewriteSample([]string{"a", elision, "e 3"}, got)
	if !ok || strings.Join(fresh, "|") != "a|…|e 2" {
		t.Errorf("rewrite = %q, %v; want a, …, e 2", fresh, ok)
	}
	if _, ok := rewriteSample([]string{"a", elision, "x 3"}, got); ok {
		t.Error("rewrite found a line whose words changed")
	}
	words, err := shellWords(`kasuhara explain 'ザコ 店員' --json "a b" c\ d`)
	if err != nil || strings.Join(words, "|") != "kasuhara|explain|ザコ 店員|--json|a b|c d" {
		t.Errorf("shellWords = %q, %v", words, err)
	}
}

// TestDocResponseSamples sends each request a page shows with grpcurl or
// curl (a ```sh block) to the real binary serving the embedded default
// lexicon, and checks the answer against the ```json block that follows
// it. In the JSON shown, a value "…" stands for any value, a string ending
// in "…" for any string that starts so, a key "…" for keys left out, and
// an array ending in "…" for elements left out.
func TestDocResponseSamples(t *testing.T) {
	s := startServe(t, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "")
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := kasuharav1.NewClassifierClient(conn)
	checked := 0
	for _, page := range docFiles(t) {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		bs := blocks(lines)
		for i, b := range bs {
			if b.lang != "json" || i == 0 || bs[i-1].lang != "sh" || strings.TrimSpace(strings.Join(lines[bs[i-1].end+1:b.start-1], "")) != "" {
				continue
			}
			where := fmt.Sprintf("%s:%d", filepath.Base(page), b.start)
			args, err := shellWords(strings.ReplaceAll(strings.Join(lines[bs[i-1].start:bs[i-1].end], "\n"), "\\\n", " "))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			got, err := answer(client, s.httpAddr, args)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			var have any
			if err := json.Unmarshal(got, &have); err != nil {
				t.Fatalf("%s: the answer is not JSON: %v\n%s", where, err, got)
			}
			sample := strings.Join(lines[b.start:b.end], "\n")
			for {
				var want any
				if err := json.Unmarshal([]byte(sample), &want); err != nil {
					t.Errorf("%s: the sample is not JSON: %v", where, err)
					break
				}
				path, old, fresh, ok := jsonShows(want, have, "$")
				if ok {
					break
				}
				// Under -update a string that changed (a lexicon version) is
				// rewritten where it stands; anything else is for a person.
				quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
				if *update && old != "" && strings.Count(sample, quoted(old)) == 1 {
					sample = strings.Replace(sample, quoted(old), quoted(fresh), 1)
					continue
				}
				t.Errorf("%s: the answer differs from the sample at %s:\n%s", where, path, got)
				break
			}
			if fresh := strings.Split(sample, "\n"); *update && strings.Join(fresh, "\n") != strings.Join(lines[b.start:b.end], "\n") {
				lines = append(lines[:b.start], append(fresh, lines[b.end:]...)...)
				if err := os.WriteFile(page, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
					t.Fatal(err)
				}
				bs = blocks(lines) // the same blocks: the rewrite kept the line count
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no request and answer samples found")
	}
}

// answer runs the first command of a sample's request, a grpcurl call of
// Classifier/Classify or a curl POST, against the served binary, and
// returns the JSON answer. Sample addresses are the defaults: they are
// replaced by the served ones.
func answer(client kasuharav1.ClassifierClient, httpAddr string, args []string) ([]byte, error) {
	var body string
	for i, a := range args {
		if a == "-d" && i+1 < len(args) {
			body = args[i+1]
			break
		}
	}
	switch args[0] {
	case "grpcurl":
		if args[len(args)-1] != "kasuhara.v1.Classifier/Classify" {
			return nil, fmt.Errorf("grpcurl %s: only Classifier/Classify samples are checked", args[len(args)-1])
		}
		var req kasuharav1.ClassifyRequest
		if err := protojson.Unmarshal([]byte(body), &req); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		resp, err := client.Classify(context.Background(), &req)
		if err != nil {
			return nil, err
		}
		return protojson.Marshal(resp) // as grpcurl prints it: unset fields left out
	case "curl":
		var url string
		header := http.Header{}
		for i := 1; i < len(args); i++ {
			switch {
			case args[i] == "-H" && i+1 < len(args):
				k, v, _ := strings.Cut(args[i+1], ":")
				header.Add(k, strings.TrimSpace(v))
				i++
			case args[i] == "-d":
				i++
			case strings.HasPrefix(args[i], "http://"):
				url = strings.Replace(args[i], "127.0.0.1:9090", httpAddr, 1)
			}
		}
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", resp.Status, b)
		}
		return b, err
	}
	return nil, fmt.Errorf("%s: only grpcurl and curl samples are checked", args[0])
}

// jsonShows reports whether have is what want shows, with want's elisions
// (see TestDocResponseSamples), and where not; when the difference is a
// string in place of another, old and fresh are the two.
func jsonShows(want, have any, path string) (where, old, fresh string, ok bool) {
	switch w := want.(type) {
	case string:
		if w == elision {
			return "", "", "", true
		}
		h, isString := have.(string)
		if p, cut := strings.CutSuffix(w, elision); cut && isString {
			return path, "", "", strings.HasPrefix(h, p)
		}
		if isString && h != w {
			return path, w, h, false
		}
		return path, "", "", isString
	case map[string]any:
		h, isMap := have.(map[string]any)
		if !isMap {
			return path, "", "", false
		}
		_, open := w[elision]
		for k, v := range w {
			if k == elision {
				continue
			}
			hv, found := h[k]
			if !found {
				return path + "." + k, "", "", false
			}
			if p, o, f, ok := jsonShows(v, hv, path+"."+k); !ok {
				return p, o, f, false
			}
		}
		if !open && len(h) != len(w) {
			return path + " (keys not shown)", "", "", false
		}
		return "", "", "", true
	case []any:
		h, isArray := have.([]any)
		if !isArray {
			return path, "", "", false
		}
		open := len(w) > 0 && w[len(w)-1] == elision
		if open {
			w = w[:len(w)-1]
		}
		if len(h) < len(w) || !open && len(h) != len(w) {
			return path + " (length)", "", "", false
		}
		for i := range w {
			if p, o, f, ok := jsonShows(w[i], h[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, o, f, false
			}
		}
		return "", "", "", true
	}
	return path, "", "", want == have
}

// TestDocLexiconSampleLoads: the file docs/lexicon.md shows is a file the
// lexicon package loads, every key of it known, so the format's reference
// cannot drift from the parser.
func TestDocLexiconSampleLoads(t *testing.T) {
	data, err := os.ReadFile("../../docs/lexicon.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	n := 0
	for _, b := range blocks(lines) {
		if b.lang != "yaml" {
			continue
		}
		n++
		file := strings.Join(lines[b.start:b.end], "\n") + "\n"
		lex, err := lexicon.Load(fstest.MapFS{"sample.yaml": {Data: []byte(file)}})
		if err != nil {
			t.Errorf("docs/lexicon.md:%d: %v", b.start, err)
			continue
		}
		if len(lex.Entries) == 0 {
			t.Errorf("docs/lexicon.md:%d: the sample has no entries", b.start)
		}
	}
	if n == 0 {
		t.Error("docs/lexicon.md shows no YAML file")
	}
}
