package lambdazip

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

// Executable is what a Lambda function of the OS-only runtimes needs to
// know of its bootstrap: the architecture it runs on and whether it is
// statically linked (provided.al2023 has no Go toolchain and a different C
// library than the build machine may have).
type Executable struct {
	Arch   string // Lambda's name: arm64 or x86_64
	Static bool   // no program interpreter (dynamic loader)
}

// ErrNotLinux is returned for a bootstrap that is not a Linux ELF
// executable of an architecture Lambda runs.
var ErrNotLinux = errors.New("not a Linux executable for arm64 or x86_64")

// InspectExecutable reads an ELF executable's architecture and linking.
func InspectExecutable(r io.ReaderAt) (Executable, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return Executable{}, ErrNotLinux
	}
	defer f.Close()
	var x Executable
	switch {
	case f.Class == elf.ELFCLASS64 && f.Machine == elf.EM_AARCH64:
		x.Arch = "arm64"
	case f.Class == elf.ELFCLASS64 && f.Machine == elf.EM_X86_64:
		x.Arch = "x86_64"
	default:
		return Executable{}, fmt.Errorf("%w (machine %s)", ErrNotLinux, f.Machine)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return Executable{}, fmt.Errorf("%w (type %s)", ErrNotLinux, f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return Executable{}, fmt.Errorf("%w (OS ABI %s)", ErrNotLinux, f.OSABI)
	}
	x.Static = true
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			x.Static = false
		}
	}
	return x, nil
}

// Package is what a deployment package holds.
type Package struct {
	Bootstrap Executable
	Files     map[string][]byte // every file but bootstrap, by name
}

// Inspect reads a deployment package: it must hold an executable
// "bootstrap" at its root.
func Inspect(data []byte) (*Package, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	p := &Package{Files: map[string][]byte{}}
	found := false
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		b, err := readEntry(f)
		if err != nil {
			return nil, err
		}
		if f.Name != "bootstrap" {
			p.Files[f.Name] = b
			continue
		}
		found = true
		if f.Mode()&0o111 == 0 {
			return nil, errors.New("bootstrap is not executable (mode " + f.Mode().String() + "): Lambda could not start it")
		}
		if p.Bootstrap, err = InspectExecutable(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	if !found {
		return nil, errors.New("no bootstrap at the root of the zip: the provided.al2023 runtime starts ./bootstrap")
	}
	return p, nil
}

func readEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}
