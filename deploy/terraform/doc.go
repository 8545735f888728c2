// Package terraform holds reflex's Terraform modules (reflex/ for the
// security account, member-role/ for member accounts) and the tests that
// parse them and check that they are documented and wired to what the reflex
// CLI generates. It has no Go code of its own.
package terraform
