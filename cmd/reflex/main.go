// Command reflex turns Amazon GuardDuty findings into automatic, safe and
// reversible incident response. This package is wiring only: every command
// parses its flags, calls the packages that hold the logic and prints.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
