// Command lambdazip writes a reproducible Lambda package:
//
//	go run ./internal/lambdazip/cmd -o reflex-lambda-arm64.zip bootstrap [name=path …]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/reflexsec/reflex/internal/lambdazip"
)

func main() {
	out := flag.String("o", "", "zip file to write")
	flag.Parse()
	if *out == "" || flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: lambdazip -o OUT.zip BOOTSTRAP [NAME=PATH …]")
		os.Exit(2)
	}
	var extra []lambdazip.File
	for _, a := range flag.Args()[1:] {
		name, path, ok := strings.Cut(a, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "lambdazip: %q: want NAME=PATH\n", a)
			os.Exit(2)
		}
		extra = append(extra, lambdazip.File{Name: name, Path: path})
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
	if err := lambdazip.Write(f, flag.Arg(0), extra...); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}
