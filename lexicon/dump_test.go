package lexicon_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/kasuhara/kasuhara/lexicon"
)

func TestDumpWritesTheDefaultByteForByte(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mylex")
	written, err := lexicon.Dump(lexicon.DefaultFS(), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fs.Glob(lexicon.DefaultFS(), "*")
	if err != nil || len(want) == 0 {
		t.Fatalf("default lexicon files %q, %v", want, err)
	}
	var wantPaths []string
	for _, name := range want {
		wantPaths = append(wantPaths, filepath.Join(dir, name))
		w, _ := fs.ReadFile(lexicon.DefaultFS(), name)
		g, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(g, w) {
			t.Errorf("%s differs from the embedded file (%v)", name, err)
		}
	}
	if !slices.Equal(written, wantPaths) {
		t.Errorf("written = %q, want %q", written, wantPaths)
	}
	// What Dump wrote loads as the default does.
	got, err := lexicon.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	def, _ := lexicon.Default()
	if got.Version != def.Version {
		t.Errorf("dumped lexicon version %s, default %s", got.Version, def.Version)
	}
}

func TestDumpRefusesToOverwrite(t *testing.T) {
	src := fstest.MapFS{"a.yaml": {Data: []byte("a")}, "b.yaml": {Data: []byte("b")}, "c.yaml": {Data: []byte("c")}, "sub/x": {Data: []byte("x")}}
	dir := t.TempDir()
	for _, n := range []string{"a.yaml", "c.yaml"} {
		os.WriteFile(filepath.Join(dir, n), []byte("# my edits\n"), 0o644)
	}
	written, err := lexicon.Dump(src, dir, false)
	var ee *lexicon.ExistError
	if !errors.As(err, &ee) || !slices.Equal(ee.Paths, []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "c.yaml")}) || len(written) != 0 {
		t.Fatalf("Dump = %q, %v; want an ExistError naming a.yaml and c.yaml, nothing written", written, err)
	}
	if want := filepath.Join(dir, "a.yaml") + " and 1 other files exist"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused dump wrote b.yaml (%v)", err)
	}
	if written, err = lexicon.Dump(src, dir, true); err != nil || len(written) != 3 {
		t.Fatalf("overwrite: %q, %v; want the three files", written, err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if b, _ := os.ReadFile(filepath.Join(dir, n+".yaml")); string(b) != n {
			t.Errorf("after overwrite %s.yaml is %q, want %q", n, b, n)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); err == nil {
		t.Error("Dump copied a directory")
	}
}
