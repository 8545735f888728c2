package lambdazip

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteIsReproducible(t *testing.T) {
	dir := t.TempDir()
	boot := filepath.Join(dir, "bootstrap")
	cfg := filepath.Join(dir, "reflex.yaml")
	if err := os.WriteFile(boot, []byte("\x7fELF binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := Write(&a, boot, File{Name: "reflex.yaml", Path: cfg}); err != nil {
		t.Fatal(err)
	}
	// A later modification time on disk must not change the package.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(boot, later, later); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, boot, File{Name: "reflex.yaml", Path: cfg}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two builds of the same files differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2 || zr.File[0].Name != "bootstrap" || zr.File[1].Name != "reflex.yaml" {
		t.Fatalf("entries = %v", zr.File)
	}
	if m := zr.File[0].Mode(); m.Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, want 0755 (Lambda must be able to execute it)", m)
	}
	if m := zr.File[1].Mode(); m.Perm() != 0o644 {
		t.Errorf("config mode %v", m)
	}
	if err := Write(&bytes.Buffer{}, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing bootstrap was accepted")
	}
}
