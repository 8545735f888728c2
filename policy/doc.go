// Package policy is reflex's configuration: rules (EventBridge patterns to
// playbooks, with a mode), playbooks, guards, accounts, ledger and execution
// settings. Load reads YAML or JSON, fills safe defaults (dry-run, samples
// never acted on, the reflex:protected tag, a blast-radius budget) and
// validates everything at once, each problem at its file:line:column. The
// reference is docs/configuration.md; examples/reflex.yaml is a complete
// example.
package policy
