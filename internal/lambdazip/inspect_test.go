package lambdazip

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// fakeELF returns the headers of a 64-bit little-endian ELF executable for
// the machine, with a program interpreter when dynamic.
func fakeELF(machine elf.Machine, dynamic bool) []byte {
	var b bytes.Buffer
	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	b.Write(ident[:])
	phnum := uint16(0)
	if dynamic {
		phnum = 1
	}
	le := binary.LittleEndian
	for _, v := range []any{uint16(elf.ET_EXEC), uint16(machine), uint32(elf.EV_CURRENT), uint64(0x400000), uint64(64), uint64(0),
		uint32(0), uint16(64), uint16(56), phnum, uint16(64), uint16(0), uint16(0)} {
		_ = binary.Write(&b, le, v)
	}
	if dynamic {
		for _, v := range []any{uint32(elf.PT_INTERP), uint32(elf.PF_R), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(1)} {
			_ = binary.Write(&b, le, v)
		}
	}
	return b.Bytes()
}

func zipOf(t *testing.T, files map[string][]byte, executable bool) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if name == "bootstrap" && executable {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestInspectExecutable(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		arch    string
		static  bool
		wantErr bool
	}{
		{"arm64 static", fakeELF(elf.EM_AARCH64, false), "arm64", true, false},
		{"x86_64 dynamic", fakeELF(elf.EM_X86_64, true), "x86_64", false, false},
		{"386", fakeELF(elf.EM_386, false), "", false, true},
		{"not ELF", []byte("#!/bin/sh\necho hi\n"), "", false, true},
	}
	for _, tt := range tests {
		x, err := InspectExecutable(bytes.NewReader(tt.data))
		if (err != nil) != tt.wantErr || x.Arch != tt.arch || x.Static != tt.static {
			t.Errorf("%s: %+v, %v", tt.name, x, err)
		}
		if err != nil && !errors.Is(err, ErrNotLinux) {
			t.Errorf("%s: %v is not ErrNotLinux", tt.name, err)
		}
	}
}

func TestInspect(t *testing.T) {
	arm := fakeELF(elf.EM_AARCH64, false)
	p, err := Inspect(zipOf(t, map[string][]byte{"bootstrap": arm, "reflex.yaml": []byte("version: 1\n")}, true))
	if err != nil || p.Bootstrap.Arch != "arm64" || !p.Bootstrap.Static || string(p.Files["reflex.yaml"]) != "version: 1\n" {
		t.Fatalf("Inspect = %+v, %v", p, err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("PK?"), "not a zip file"},
		{"no bootstrap", zipOf(t, map[string][]byte{"reflex": arm}, true), "no bootstrap"},
		{"not executable", zipOf(t, map[string][]byte{"bootstrap": arm}, false), "not executable"},
		{"not linux", zipOf(t, map[string][]byte{"bootstrap": []byte("MZ")}, true), "not a Linux executable"},
	}
	for _, tt := range tests {
		if _, err := Inspect(tt.data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// A package written by Write reads back.
	dir := t.TempDir()
	boot := dir + "/bootstrap"
	if err := os.WriteFile(boot, arm, 0o600); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, boot); err != nil {
		t.Fatal(err)
	}
	if p, err := Inspect(b.Bytes()); err != nil || p.Bootstrap.Arch != "arm64" || len(p.Files) != 0 {
		t.Errorf("Write then Inspect = %+v, %v", p, err)
	}
}
