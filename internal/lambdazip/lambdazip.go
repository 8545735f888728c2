// Package lambdazip writes an AWS Lambda deployment package for the OS-only
// runtimes (provided.al2023): a zip holding the executable "bootstrap" and
// optional extra files, byte-for-byte reproducible — fixed timestamps and
// modes, files in a fixed order — so the same source gives the same package
// and Terraform's source_code_hash changes only when the code does.
package lambdazip

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// epoch is the timestamp every entry gets: the zip format's earliest date,
// so nothing of the build machine's clock leaks into the package.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one entry of the package.
type File struct {
	Name       string // path inside the zip
	Path       string // file on disk
	Executable bool
}

// Write writes the package to w: bootstrap (executable) first, then the
// other files sorted by name.
func Write(w io.Writer, bootstrap string, extra ...File) error {
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	files := append([]File{{Name: "bootstrap", Path: bootstrap, Executable: true}}, extra...)
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := add(zw, f); err != nil {
			return err
		}
	}
	return zw.Close()
}

func add(zw *zip.Writer, f File) error {
	src, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("lambda package: %w", err)
	}
	defer src.Close()
	mode := os.FileMode(0o644)
	if f.Executable {
		mode = 0o755
	}
	h := &zip.FileHeader{Name: filepath.ToSlash(f.Name), Method: zip.Deflate, Modified: epoch}
	h.SetMode(mode)
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("lambda package: %s: %w", f.Name, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("lambda package: %s: %w", f.Name, err)
	}
	return nil
}
