package policy

import "os"

func readExample() ([]byte, error) { return os.ReadFile("../examples/reflex.yaml") }
