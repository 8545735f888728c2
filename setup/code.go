package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/reflexsec/reflex/internal/lambdazip"
)

// PackageFrom says where the function's code comes from.
type PackageFrom struct {
	// Zip, if set, is a package built by scripts/build-lambda.sh.
	Zip string
	// Else Executable (the running reflex) is packaged as bootstrap, if
	// GOOS is linux and it is statically linked.
	Executable, GOOS, GOARCH string
	// Config is the configuration file setup derived the rules and policy
	// from: packaged as reflex.yaml, or compared with the zip's.
	Config string
	// Architecture, if set, must be the bootstrap's.
	Architecture string
	// ConfigInSSM: the function reads its configuration from SSM, so none
	// is packaged.
	ConfigInSSM bool
}

// packagedConfig is the configuration's name in the package, relative to
// $LAMBDA_TASK_ROOT (REFLEX_CONFIG).
const packagedConfig = "reflex.yaml"

// Package returns the function's code, its architecture and the
// environment it needs (REFLEX_CONFIG for a packaged configuration). The
// package built from the executable is reproducible, so an unchanged binary
// and configuration leave the function's CodeSha256 unchanged.
func Package(p PackageFrom) (zip []byte, arch string, env map[string]string, err error) {
	env = map[string]string{}
	if !p.ConfigInSSM {
		env["REFLEX_CONFIG"] = packagedConfig
	}
	if p.Zip != "" {
		return fromZip(p, env)
	}
	goarch := map[string]string{"arm64": "arm64", "amd64": "x86_64"}[p.GOARCH]
	if p.GOOS != "linux" || goarch == "" {
		return nil, "", nil, fmt.Errorf("this reflex is a %s/%s program and Lambda runs linux on arm64 or x86_64: give --lambda-zip FILE (scripts/build-lambda.sh arm64 --config %s)", p.GOOS, p.GOARCH, p.Config)
	}
	f, err := os.Open(p.Executable)
	if err != nil {
		return nil, "", nil, fmt.Errorf("reading this reflex binary to package it: %w", err)
	}
	defer f.Close()
	x, err := lambdazip.InspectExecutable(f)
	switch {
	case err != nil:
		return nil, "", nil, fmt.Errorf("this reflex binary %s: %w; give --lambda-zip FILE (scripts/build-lambda.sh)", p.Executable, err)
	case !x.Static:
		return nil, "", nil, fmt.Errorf("this reflex binary %s is dynamically linked, and provided.al2023 needs a static one: build reflex with CGO_ENABLED=0, or give --lambda-zip FILE (scripts/build-lambda.sh)", p.Executable)
	case p.Architecture != "" && p.Architecture != x.Arch:
		return nil, "", nil, fmt.Errorf("this reflex binary is %s, not --architecture %s: give --lambda-zip FILE (scripts/build-lambda.sh %s --config %s)", x.Arch, p.Architecture, p.Architecture, p.Config)
	}
	var extra []lambdazip.File
	if !p.ConfigInSSM {
		extra = append(extra, lambdazip.File{Name: packagedConfig, Path: p.Config})
	}
	var b bytes.Buffer
	if err := lambdazip.Write(&b, p.Executable, extra...); err != nil {
		return nil, "", nil, err
	}
	return b.Bytes(), x.Arch, env, nil
}

func fromZip(p PackageFrom, env map[string]string) ([]byte, string, map[string]string, error) {
	data, err := os.ReadFile(p.Zip)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil, fmt.Errorf("--lambda-zip %s: no such file (build it: scripts/build-lambda.sh arm64 --config %s)", p.Zip, p.Config)
	}
	if err != nil {
		return nil, "", nil, fmt.Errorf("--lambda-zip: %w", err)
	}
	pkg, err := lambdazip.Inspect(data)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--lambda-zip %s: %w", p.Zip, err)
	}
	x := pkg.Bootstrap
	switch {
	case !x.Static:
		return nil, "", nil, fmt.Errorf("--lambda-zip %s: bootstrap is dynamically linked, and provided.al2023 needs a static binary (CGO_ENABLED=0, as scripts/build-lambda.sh builds it)", p.Zip)
	case p.Architecture != "" && p.Architecture != x.Arch:
		return nil, "", nil, fmt.Errorf("--lambda-zip %s: bootstrap is %s, not --architecture %s", p.Zip, x.Arch, p.Architecture)
	}
	if p.ConfigInSSM {
		return data, x.Arch, env, nil
	}
	packaged, ok := pkg.Files[packagedConfig]
	if !ok {
		return nil, "", nil, fmt.Errorf("--lambda-zip %s holds no %s: package the configuration (scripts/build-lambda.sh %s --config %s) or give --config-ssm-parameter NAME", p.Zip, packagedConfig, x.Arch, p.Config)
	}
	cfg, err := os.ReadFile(p.Config)
	if err != nil {
		return nil, "", nil, fmt.Errorf("configuration: %w", err)
	}
	if !bytes.Equal(packaged, cfg) {
		return nil, "", nil, fmt.Errorf("--lambda-zip %s: its %s differs from %s, so the rules and permissions setup derives would not be the function's: rebuild the zip (scripts/build-lambda.sh %s --config %s)", p.Zip, packagedConfig, p.Config, x.Arch, p.Config)
	}
	return data, x.Arch, env, nil
}
