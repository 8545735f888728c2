// Package examples holds reflex's ready configurations; ReflexYAML is
// examples/reflex.yaml, embedded so `reflex demo` can run it.
package examples

import _ "embed"

// ReflexYAML is reflex.yaml.
//
//go:embed reflex.yaml
var ReflexYAML []byte
