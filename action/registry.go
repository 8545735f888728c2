package action

import (
	"fmt"
	"sort"
	"sync"
)

// Registry maps step names to steps. Build one with NewRegistry (the
// built-in steps and the declared AWS steps) and register implementations
// on it; an implementation replaces a declared step of the same name.
type Registry struct {
	mu    sync.RWMutex
	steps map[string]Step
}

// NewRegistry returns a registry holding the built-in steps (record,
// notify, test.effect) and the declared AWS steps.
func NewRegistry() *Registry {
	r := &Registry{steps: map[string]Step{}}
	for _, s := range builtins() {
		r.mustRegister(s)
	}
	for _, s := range declared() {
		r.mustRegister(s)
	}
	return r
}

// Empty returns a registry with no step.
func Empty() *Registry { return &Registry{steps: map[string]Step{}} }

func (r *Registry) mustRegister(s Step) {
	if err := r.Register(s); err != nil {
		panic(err)
	}
}

// Register adds a step. A name already registered is an error, unless the
// registered step is only declared (Spec().Available is false) and s is an
// implementation.
func (r *Registry) Register(s Step) error {
	spec := s.Spec()
	if spec.Name == "" {
		return fmt.Errorf("register: a step has no name")
	}
	switch spec.Effect {
	case ReadOnly, Reversible, Irreversible:
	default:
		return fmt.Errorf("register %s: effect %q: want read-only, reversible or irreversible", spec.Name, spec.Effect)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.steps[spec.Name]; ok && (old.Spec().Available || !spec.Available) {
		return fmt.Errorf("register %s: already registered", spec.Name)
	}
	r.steps[spec.Name] = s
	return nil
}

// Lookup returns the step named name.
func (r *Registry) Lookup(name string) (Step, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.steps[name]
	return s, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.steps))
	for n := range r.steps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Specs returns the registered steps' specs, sorted by name.
func (r *Registry) Specs() []Spec {
	names := r.Names()
	out := make([]Spec, 0, len(names))
	for _, n := range names {
		s, _ := r.Lookup(n)
		out = append(out, s.Spec())
	}
	return out
}
