package lexicon

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ExistError is Dump's refusal to overwrite files that exist.
type ExistError struct {
	Paths []string // the files that exist, in the order Dump met them
}

func (e *ExistError) Error() string {
	if len(e.Paths) == 1 {
		return e.Paths[0] + " exists"
	}
	return fmt.Sprintf("%s and %d other files exist", e.Paths[0], len(e.Paths)-1)
}

// Dump copies every regular file at the root of src (say DefaultFS()) into
// dir byte for byte, creating dir if missing, the start of a custom
// lexicon. Unless overwrite, it writes nothing if any of the files exists
// in dir already, and returns an *ExistError naming them. It returns the
// paths it wrote, in order, also when it stops on an error.
func Dump(src fs.FS, dir string, overwrite bool) (written []string, err error) {
	ents, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, fmt.Errorf("read lexicon files: %w", err)
	}
	var names, exist []string
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		names = append(names, e.Name())
		if _, err := os.Lstat(filepath.Join(dir, e.Name())); err == nil {
			exist = append(exist, filepath.Join(dir, e.Name()))
		}
	}
	if len(exist) > 0 && !overwrite {
		return nil, &ExistError{Paths: exist}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	for _, name := range names {
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return written, fmt.Errorf("read %s: %w", name, err)
		}
		path := filepath.Join(dir, name)
		if err := writeFile(path, flags, data); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

func writeFile(path string, flags int, data []byte) error {
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
