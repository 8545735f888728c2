package iam

import "github.com/reflexsec/reflex/action"

// The steps replace their declared contracts in every registry
// (action.NewRegistry) of a program that imports this package.
func init() { action.Provide(Steps) }
