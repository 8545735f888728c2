// Package contract holds reflex's contract tests: one suite of behavioural
// checks, written once, run through the real aws-sdk-go-v2 clients against
// two independent AWS emulators — reflex's own test cloud
// (internal/fakeaws) and kumo (github.com/sivchari/kumo) — for the
// operations both implement.
//
// It is a module of its own so that the main module does not carry kumo's
// dependencies; it reaches internal/fakeaws because its import path lies
// under the main module's root. The package has no non-test code: run it
// with `go test -race ./...` from this directory. README.md lists the
// checks and every deviation found.
package contract
