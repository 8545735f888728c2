// Package dynalite starts the dynalite DynamoDB emulator (npm package
// dynalite, installed by .ci/run into .ci/node) for tests.
package dynalite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Server is a running dynalite.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// ErrMissing is returned when node or dynalite is not installed.
var ErrMissing = errors.New("dynalite is not installed (run: npm install --prefix .ci/node dynalite)")

// cli finds dynalite/cli.js: $DYNALITE_CLI, else .ci/node/node_modules in
// this directory or a parent.
func cli() (string, error) {
	if p := os.Getenv("DYNALITE_CLI"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ".ci", "node", "node_modules", "dynalite", "cli.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrMissing
		}
		dir = parent
	}
}

// Start starts dynalite on a free loopback port, in memory.
func Start() (*Server, error) {
	js, err := cli()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node: %v", ErrMissing, err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cmd := exec.Command(node, js, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
			"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		ready := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(out)
			ok := false
			for sc.Scan() {
				if !ok && strings.Contains(sc.Text(), "listening") {
					ok = true
					ready <- true
				}
			}
			if !ok {
				ready <- false
			}
		}()
		select {
		case ok := <-ready:
			if ok {
				return &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}, nil
			}
		case <-time.After(20 * time.Second):
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	return nil, errors.New("dynalite did not start")
}

// Close stops dynalite.
func (s *Server) Close() {
	if s != nil && s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// Client returns a DynamoDB client for the server.
func (s *Server) Client() *ddb.Client {
	return ddb.New(ddb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

var tables atomic.Int64

// TableName returns a new table name for one test.
func TableName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), tables.Add(1))
}

// Required reports whether a missing dynalite is a failure (under CI) or
// a reason to skip.
func Required() bool { return os.Getenv("CI") == "true" }

// Context is a bounded context for set-up calls.
func Context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
