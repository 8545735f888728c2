// Package awstest runs reflex's AWS steps and playbooks against the
// sandbox in the test cloud, in-process, with the real SDK clients: the
// fixture of the step tests, the fault and crash checks and the demo.
package awstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/reflexsec/reflex/action"
	_ "github.com/reflexsec/reflex/action/ec2" // the AWS steps
	_ "github.com/reflexsec/reflex/action/findings"
	_ "github.com/reflexsec/reflex/action/iam"
	_ "github.com/reflexsec/reflex/action/s3"
	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/internal/sandbox"
	"github.com/reflexsec/reflex/policy"
	"github.com/reflexsec/reflex/store/sqlite"
)

// Env is a running sandbox.
type Env struct {
	Cloud   *fakeaws.Cloud
	Server  *fakeaws.Server
	Clients *cloud.Clients
	Dir     string
}

// Start serves a new sandbox on a loopback port; Close stops it. Calls
// reflex makes go as the security account, assuming reflex-responder in
// prod. observe (may be nil) sees every call.
func Start(dir string, observe func(cloud.Call), opts ...fakeaws.Option) (*Env, error) {
	c, err := sandbox.Cloud(append([]fakeaws.Option{fakeaws.WithSeed(1)}, opts...)...)
	if err != nil {
		return nil, err
	}
	srv, err := c.Start("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Env{Cloud: c, Server: srv, Dir: dir, Clients: NewClients(srv, observe)}, nil
}

// NewClients returns clients for the server: the security account's key,
// reflex-responder assumed in other accounts, a fast retry backoff.
func NewClients(srv *fakeaws.Server, observe func(cloud.Call)) *cloud.Clients {
	ak, sk, _ := srv.Cloud.Credentials(sandbox.Security)
	base := srv.ConfigFor(ak, sk, "", sandbox.Region)
	return cloud.FromConfig(base, sandbox.Accounts, cloud.Options{
		MaxAttempts: 12,
		Backoff: func(attempt int, _ error) (time.Duration, error) {
			return time.Duration(attempt) * time.Millisecond, nil
		},
		Observe: observe,
	})
}

// Close stops the server.
func (e *Env) Close() { e.Server.Close() }

// Context returns ctx carrying the env's clients.
func (e *Env) Context(ctx context.Context) context.Context { return cloud.NewContext(ctx, e.Clients) }

// EnforceConfig returns examples/reflex.yaml with every rule in enforce
// mode and the ledger at ledger.
func EnforceConfig(example []byte, ledger string) []byte {
	s := strings.ReplaceAll(string(example), "mode: dry-run", "mode: enforce")
	s = strings.Replace(s, `  path: ""`, fmt.Sprintf("  path: %q", ledger), 1)
	return []byte(s)
}

// Engine loads the configuration into an engine with a SQLite ledger.
func (e *Env) Engine(cfg []byte) (*engine.Engine, *sqlite.DB, error) {
	path := filepath.Join(e.Dir, "reflex.yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return nil, nil, err
	}
	p, err := policy.Load(path, action.NewRegistry())
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlite.Open(p.LedgerPath(), sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	return &engine.Engine{Policy: p, Registry: action.NewRegistry(), Ledger: db}, db, nil
}

// Base returns the home configuration of the env (for direct SDK calls in
// tests: describe before and after).
func (e *Env) Base(ctx context.Context) (aws.Config, error) {
	return e.Clients.Config(ctx, sandbox.Prod, sandbox.Region)
}

// Mutating lists the operations with side effects the playbooks make.
var Mutating = map[string]bool{
	"CreateSnapshots": true, "CreateSecurityGroup": true, "AuthorizeSecurityGroupIngress": true, "AuthorizeSecurityGroupEgress": true,
	"RevokeSecurityGroupEgress": true, "ModifyNetworkInterfaceAttribute": true, "ModifyInstanceAttribute": true, "DetachInstances": true,
	"AttachInstances": true, "DeregisterTargets": true, "RegisterTargets": true, "DisassociateAddress": true, "AssociateAddress": true,
	"DisassociateIamInstanceProfile": true, "AssociateIamInstanceProfile": true, "UpdateAccessKey": true, "AttachUserPolicy": true,
	"AttachRolePolicy": true, "DetachUserPolicy": true, "DetachRolePolicy": true, "PutUserPolicy": true, "PutRolePolicy": true,
	"DeleteUserPolicy": true, "DeleteRolePolicy": true, "PutPublicAccessBlock": true, "DeletePublicAccessBlock": true,
}

// SideEffects counts the successful calls of each mutating operation.
func (e *Env) SideEffects() map[string]int {
	out := map[string]int{}
	for _, c := range e.Cloud.Calls() {
		if Mutating[c.Operation] && c.ErrorCode == "" && c.Status < 300 {
			out[c.Operation]++
		}
	}
	return out
}
