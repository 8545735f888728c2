package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reflexsec/reflex/finding"
)

// findingExts are the file endings read when a directory is named.
var findingExts = []string{".json", ".jsonl", ".ndjson"}

// expandInputs turns FILE… arguments into the list of inputs to read: "-" is
// standard input, a directory stands for the finding files below it (sorted).
func expandInputs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, errors.Unwrap(err))
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && slices.Contains(findingExts, strings.ToLower(filepath.Ext(p))) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no .json, .jsonl or .ndjson files in this directory", a)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

// readFindings reads every finding of the inputs, calling onFinding for each
// and onError for each bad record or unreadable input. It stops early only
// when ctx is cancelled.
func readFindings(ctx context.Context, inputs []string, stdin io.Reader, onFinding func(*finding.Finding), onError func(error)) error {
	for _, name := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		var r io.Reader
		if name == "-" {
			r = stdin
		} else {
			f, err := os.Open(name)
			if err != nil {
				onError(fmt.Errorf("%s: %w", name, errors.Unwrap(err)))
				continue
			}
			defer f.Close()
			r = f
		}
		rd := finding.NewReader(name, r)
		n := 0
		for {
			f, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var re *finding.RecordError
				if !errors.As(err, &re) {
					onError(fmt.Errorf("%s: %w", name, err))
					break
				}
				n++
				onError(err)
				continue
			}
			n++
			onFinding(f)
		}
		if n == 0 {
			onError(&finding.RecordError{Input: name, Line: 1, Column: 1, Msg: "empty input: no findings"})
		}
	}
	return nil
}
