package setup

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reflexsec/reflex/internal/lambdazip"
)

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// zipWith writes a package holding bootstrap and, if config is not nil,
// reflex.yaml.
func zipWith(t *testing.T, path string, bootstrap, config []byte) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	h := &zip.FileHeader{Name: "bootstrap"}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	w.Write(bootstrap)
	if config != nil {
		w, _ := zw.Create("reflex.yaml")
		w.Write(config)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, path, b.Bytes())
}

func TestPackage(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "reflex.yaml"), []byte("version: 1\n"))
	arm, amd := fakeELF(elf.EM_AARCH64), fakeELF(elf.EM_X86_64)
	self := writeFile(t, filepath.Join(dir, "reflex"), amd)
	good := zipWith(t, filepath.Join(dir, "good.zip"), arm, []byte("version: 1\n"))

	// This binary, packaged with the configuration: reproducible.
	zip1, arch, env, err := Package(PackageFrom{Executable: self, GOOS: "linux", GOARCH: "amd64", Config: cfg})
	if err != nil || arch != "x86_64" || env["REFLEX_CONFIG"] != "reflex.yaml" {
		t.Fatalf("from the binary: %s %v %v", arch, env, err)
	}
	zip2, _, _, _ := Package(PackageFrom{Executable: self, GOOS: "linux", GOARCH: "amd64", Config: cfg})
	if CodeSha256(zip1) != CodeSha256(zip2) {
		t.Error("two packages of the same binary and configuration differ: the function would be updated on every run")
	}
	p, err := lambdazip.Inspect(zip1)
	if err != nil || string(p.Files["reflex.yaml"]) != "version: 1\n" {
		t.Fatalf("package = %+v, %v", p, err)
	}
	// A zip built by scripts/build-lambda.sh with this configuration.
	if _, arch, _, err := Package(PackageFrom{Zip: good, Config: cfg}); err != nil || arch != "arm64" {
		t.Fatalf("zip: %s %v", arch, err)
	}
	// With the configuration in SSM, none is needed in the package.
	if _, _, env, err := Package(PackageFrom{Zip: zipWith(t, filepath.Join(dir, "nocfg.zip"), arm, nil), Config: cfg, ConfigInSSM: true}); err != nil || len(env) != 0 {
		t.Fatalf("ssm: %v %v", env, err)
	}

	dynamic := fakeELF(elf.EM_X86_64)
	dynamic[56] = 1 // e_phnum: one program header, read as PT_INTERP below
	dynamic = append(dynamic, make([]byte, 56)...)
	dynamic[64] = byte(elf.PT_INTERP)
	tests := []struct {
		name string
		from PackageFrom
		want string
	}{
		{"darwin", PackageFrom{Executable: self, GOOS: "darwin", GOARCH: "arm64", Config: cfg}, "darwin/arm64 program"},
		{"dynamic binary", PackageFrom{Executable: writeFile(t, filepath.Join(dir, "dyn"), dynamic), GOOS: "linux", GOARCH: "amd64", Config: cfg}, "dynamically linked"},
		{"other architecture", PackageFrom{Executable: self, GOOS: "linux", GOARCH: "amd64", Config: cfg, Architecture: "arm64"}, "scripts/build-lambda.sh arm64"},
		{"missing zip", PackageFrom{Zip: filepath.Join(dir, "missing.zip"), Config: cfg}, "no such file (build it: scripts/build-lambda.sh"},
		{"not a zip", PackageFrom{Zip: cfg, Config: cfg}, "not a zip file"},
		{"zip without configuration", PackageFrom{Zip: zipWith(t, filepath.Join(dir, "nocfg2.zip"), arm, nil), Config: cfg}, "holds no reflex.yaml"},
		{"zip of another configuration", PackageFrom{Zip: zipWith(t, filepath.Join(dir, "old.zip"), arm, []byte("version: 1\n# old\n")), Config: cfg}, "differs from"},
		{"zip of another architecture", PackageFrom{Zip: good, Config: cfg, Architecture: "x86_64"}, "bootstrap is arm64, not --architecture x86_64"},
	}
	for _, tt := range tests {
		if _, _, _, err := Package(tt.from); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
