package fakeaws

import (
	"encoding/json"
	"strings"
	"time"
)

// STS (AWS query protocol). AssumeRole issues temporary credentials
// (ASIA… keys with a session token, which must then be sent) in the role's
// account when the role's trust policy allows the caller: principals by
// account id, account root ARN, user or role ARN, or "*"; conditions
// StringEquals / StringLike on sts:ExternalId, aws:PrincipalArn and
// aws:PrincipalAccount. Any other condition fails closed. Deny statements
// win. The caller's own identity policy is not evaluated.

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

func stsService() *service {
	s := &service{name: "sts", proto: protoQuery, xmlns: stsNS,
		throttleErr: &apiError{status: 400, code: "Throttling", msg: "Rate exceeded"}}
	s.query = map[string]queryHandler{
		"GetCallerIdentity": stsGetCallerIdentity,
		"AssumeRole":        stsAssumeRole,
	}
	return s
}

func stsGetCallerIdentity(r *request) (string, error) {
	var x xw
	x.el("UserId", r.cred.UserID).el("Account", r.cred.Account).el("Arn", r.cred.ARN)
	return x.String(), nil
}

func accessDenied(format string, a ...any) error {
	return newErr(403, "AccessDenied", format, a...)
}

func stsAssumeRole(r *request) (string, error) {
	roleARN, session := r.form.s("RoleArn"), r.form.s("RoleSessionName")
	if len(session) < 2 || len(session) > 64 {
		return "", badRequest("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64", session)
	}
	dur := r.form.i("DurationSeconds", 3600)
	deny := func() error {
		return accessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", r.cred.ARN, roleARN)
	}
	// arn:aws:iam::123456789012:role/path/name
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return "", badRequest("ValidationError", "%s is invalid", roleARN)
	}
	target := r.c.accounts[parts[4]]
	if target == nil {
		return "", deny()
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	role := target.roles[name]
	if role == nil || role.ARN != roleARN {
		return "", deny()
	}
	if !trustAllows(role.Trust, r.cred, r.form.s("ExternalId")) {
		return "", deny()
	}
	maxDur := role.MaxSession
	if maxDur == 0 {
		maxDur = 3600
	}
	if dur < 900 || dur > maxDur {
		return "", badRequest("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	cr := &credential{
		AccessKeyID:  r.c.upperID("ASIA", 16),
		Secret:       r.c.secret(),
		SessionToken: "FwoGZXIvYXdzE" + r.c.secret() + r.c.secret(),
		Account:      target.id,
		ARN:          "arn:aws:sts::" + target.id + ":assumed-role/" + role.Name + "/" + session,
		UserID:       role.ID + ":" + session,
		RoleARN:      role.ARN,
		Expires:      r.c.clock().Add(time.Duration(dur) * time.Second),
	}
	r.c.creds[cr.AccessKeyID] = cr
	var x xw
	x.open("Credentials").el("AccessKeyId", cr.AccessKeyID).el("SecretAccessKey", cr.Secret).
		el("SessionToken", cr.SessionToken).time("Expiration", cr.Expires).close("Credentials").
		open("AssumedRoleUser").el("AssumedRoleId", cr.UserID).el("Arn", cr.ARN).close("AssumedRoleUser").
		int("PackedPolicySize", 0)
	return x.String(), nil
}

// trustAllows evaluates a role trust policy for sts:AssumeRole.
func trustAllows(doc string, caller *credential, externalID string) bool {
	var pol struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &pol); err != nil {
		return false
	}
	var stmts []map[string]any
	if err := json.Unmarshal(pol.Statement, &stmts); err != nil {
		var one map[string]any
		if json.Unmarshal(pol.Statement, &one) != nil {
			return false
		}
		stmts = []map[string]any{one}
	}
	allowed := false
	for _, st := range stmts {
		if !actionMatches(st["Action"]) || !principalMatches(st["Principal"], caller) ||
			!conditionsHold(st["Condition"], caller, externalID) {
			continue
		}
		switch st["Effect"] {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func actionMatches(v any) bool {
	for _, a := range strs(v) {
		if wildcard(strings.ToLower(a), "sts:assumerole") {
			return true
		}
	}
	return false
}

func principalMatches(v any, caller *credential) bool {
	if s, ok := v.(string); ok {
		return s == "*"
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, p := range strs(m["AWS"]) {
		switch {
		case p == "*":
			return true
		case p == caller.Account, p == "arn:aws:iam::"+caller.Account+":root":
			return true
		case caller.RoleARN == "" && p == caller.ARN:
			return true
		case caller.RoleARN != "" && (p == caller.RoleARN || p == caller.ARN):
			return true
		}
	}
	return false
}

func conditionsHold(v any, caller *credential, externalID string) bool {
	if v == nil {
		return true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	principalARN := caller.ARN
	if caller.RoleARN != "" {
		principalARN = caller.RoleARN
	}
	for op, kv := range m {
		keys, ok := kv.(map[string]any)
		if !ok {
			return false
		}
		for key, want := range keys {
			var have string
			present := true
			switch strings.ToLower(key) {
			case "sts:externalid":
				have, present = externalID, externalID != ""
			case "aws:principalarn":
				have = principalARN
			case "aws:principalaccount":
				have = caller.Account
			default:
				return false
			}
			match := false
			for _, w := range strs(want) {
				switch op {
				case "StringEquals":
					match = match || (present && have == w)
				case "StringLike":
					match = match || (present && wildcard(w, have))
				default:
					return false
				}
			}
			if !match {
				return false
			}
		}
	}
	return true
}
