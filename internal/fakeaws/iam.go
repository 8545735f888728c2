package fakeaws

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// IAM (AWS query protocol). Resources are per account (global, not
// regional). Rules kept: unknown users/roles/keys/policies are NoSuchEntity
// with IAM's messages; an inactive key can no longer sign requests; policy
// documents must be JSON (MalformedPolicyDocument) and come back URL-encoded
// from Get*Policy, as from IAM; CreateRole refuses an existing name
// (EntityAlreadyExists, 409) and a name or path outside IAM's patterns
// (ValidationError).

type accessKey struct {
	ID, Secret, Status string
	Created            time.Time
}

type iamUser struct {
	Name, ID, ARN, Path string
	Created             time.Time
	Keys                []*accessKey
	LoginProfile        *time.Time
	Inline              map[string]string
	Attached            []string
}

func (u *iamUser) key(id string) *accessKey {
	for _, k := range u.Keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

type iamRole struct {
	Name, ID, ARN, Path, Desc string
	Created                   time.Time
	Trust                     string
	Inline                    map[string]string
	Attached                  []string
	MaxSession                int
	Tags                      map[string]string
}

type instanceProfile struct {
	Name, ID, ARN, Path string
	Created             time.Time
	Roles               []string
}

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

func iamService() *service {
	s := &service{name: "iam", proto: protoQuery, xmlns: iamNS, global: true,
		throttleErr: &apiError{status: 400, code: "Throttling", msg: "Rate exceeded"}}
	s.query = map[string]queryHandler{
		"GetUser":                     iamGetUser,
		"GetRole":                     iamGetRole,
		"CreateRole":                  iamCreateRole,
		"UpdateRole":                  iamUpdateRole,
		"UpdateAssumeRolePolicy":      iamUpdateAssumeRolePolicy,
		"ListRoleTags":                iamListRoleTags,
		"ListAccessKeys":              iamListAccessKeys,
		"UpdateAccessKey":             iamUpdateAccessKey,
		"PutUserPolicy":               iamPutPolicy(false),
		"GetUserPolicy":               iamGetPolicy(false),
		"DeleteUserPolicy":            iamDeletePolicy(false),
		"ListUserPolicies":            iamListPolicies(false),
		"PutRolePolicy":               iamPutPolicy(true),
		"GetRolePolicy":               iamGetPolicy(true),
		"DeleteRolePolicy":            iamDeletePolicy(true),
		"ListRolePolicies":            iamListPolicies(true),
		"AttachUserPolicy":            iamAttach(false),
		"DetachUserPolicy":            iamDetach(false),
		"ListAttachedUserPolicies":    iamListAttached(false),
		"AttachRolePolicy":            iamAttach(true),
		"DetachRolePolicy":            iamDetach(true),
		"ListAttachedRolePolicies":    iamListAttached(true),
		"GetLoginProfile":             iamGetLoginProfile,
		"DeleteLoginProfile":          iamDeleteLoginProfile,
		"GetInstanceProfile":          iamGetInstanceProfile,
		"ListInstanceProfilesForRole": iamListProfilesForRole,
	}
	return s
}

func noSuchEntity(format string, a ...any) error {
	return newErr(404, "NoSuchEntity", format, a...)
}

func iamValidation(format string, a ...any) error {
	return badRequest("ValidationError", format, a...)
}

// user returns the named user, or the caller's own user when name is empty.
func (r *request) user(name string) (*iamUser, error) {
	if name == "" {
		if r.cred.User == "" {
			return nil, iamValidation("Must specify userName when calling with non-User credentials")
		}
		name = r.cred.User
	}
	u := r.acct.users[name]
	if u == nil {
		return nil, noSuchEntity("The user with name %s cannot be found.", name)
	}
	return u, nil
}

func (r *request) role(name string) (*iamRole, error) {
	if name == "" {
		return nil, iamValidation("1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null")
	}
	ro := r.acct.roles[name]
	if ro == nil {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return ro, nil
}

func writeUser(x *xw, u *iamUser) {
	x.open("User").el("Path", u.Path).el("UserName", u.Name).el("UserId", u.ID).el("Arn", u.ARN).
		time("CreateDate", u.Created).close("User")
}

func writeRole(x *xw, name string, ro *iamRole) {
	x.open(name).el("Path", ro.Path).el("RoleName", ro.Name).el("RoleId", ro.ID).el("Arn", ro.ARN).
		time("CreateDate", ro.Created).el("AssumeRolePolicyDocument", policyEscape(ro.Trust)).opt("Description", ro.Desc).
		int("MaxSessionDuration", ro.MaxSession).close(name)
}

// policyEscape URL-encodes a policy document as IAM returns it.
func policyEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func iamGetUser(r *request) (string, error) {
	var x xw
	if r.form.s("UserName") == "" && r.cred.User == "" && r.cred.RoleARN == "" {
		x.open("User").el("Path", "/").el("UserName", "root").el("UserId", r.acct.id).
			el("Arn", "arn:aws:iam::"+r.acct.id+":root").time("CreateDate", time.Unix(0, 0)).close("User")
		return x.String(), nil
	}
	u, err := r.user(r.form.s("UserName"))
	if err != nil {
		return "", err
	}
	writeUser(&x, u)
	return x.String(), nil
}

func iamGetRole(r *request) (string, error) {
	ro, err := r.role(r.form.s("RoleName"))
	if err != nil {
		return "", err
	}
	var x xw
	writeRole(&x, "Role", ro)
	return x.String(), nil
}

// Compiled on first use: the test cloud is linked into every reflex binary
// (demo, sandbox), and bounded repetitions such as {1,512} compile into that
// many nested copies, which cost milliseconds of every process start.
var (
	roleName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{1,64}$`) })
	iamPath  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/([\x21-\x7E]{0,510}/)?$`) })
)

func iamCreateRole(r *request) (string, error) {
	name, path := r.form.s("RoleName"), r.form.s("Path")
	if path == "" {
		path = "/"
	}
	if !roleName().MatchString(name) {
		return "", iamValidation("1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if !iamPath().MatchString(path) {
		return "", iamValidation("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	trust := r.form.s("AssumeRolePolicyDocument")
	if err := validPolicy(trust); err != nil {
		return "", err
	}
	if r.acct.roles[name] != nil {
		return "", newErr(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	ro := &iamRole{Name: name, Path: path, Desc: r.form.s("Description"), ID: r.c.upperID("AROA", 17),
		ARN: "arn:aws:iam::" + r.acct.id + ":role" + path + name, Created: r.c.clock(), Trust: trust,
		Inline: map[string]string{}, MaxSession: r.form.i("MaxSessionDuration", 3600), Tags: map[string]string{}}
	for _, m := range r.form.subs("Tags.member") {
		ro.Tags[r.form.s(m+".Key")] = r.form.s(m + ".Value")
	}
	r.acct.roles[name] = ro
	var x xw
	writeRole(&x, "Role", ro)
	return x.String(), nil
}

func iamUpdateRole(r *request) (string, error) {
	ro, err := r.role(r.form.s("RoleName"))
	if err != nil {
		return "", err
	}
	if r.form.has("Description") {
		ro.Desc = r.form.s("Description")
	}
	if r.form.has("MaxSessionDuration") {
		ro.MaxSession = r.form.i("MaxSessionDuration", ro.MaxSession)
	}
	return "", nil
}

func iamUpdateAssumeRolePolicy(r *request) (string, error) {
	ro, err := r.role(r.form.s("RoleName"))
	if err != nil {
		return "", err
	}
	doc := r.form.s("PolicyDocument")
	if err := validPolicy(doc); err != nil {
		return "", err
	}
	ro.Trust = doc
	return "", nil
}

func iamListRoleTags(r *request) (string, error) {
	ro, err := r.role(r.form.s("RoleName"))
	if err != nil {
		return "", err
	}
	var x xw
	x.open("Tags")
	for _, k := range sortedKeys(ro.Tags) {
		x.open("member").el("Key", k).el("Value", ro.Tags[k]).close("member")
	}
	x.close("Tags").bool("IsTruncated", false)
	return x.String(), nil
}

func iamListAccessKeys(r *request) (string, error) {
	u, err := r.user(r.form.s("UserName"))
	if err != nil {
		return "", err
	}
	var x xw
	x.open("AccessKeyMetadata")
	for _, k := range u.Keys {
		x.open("member").el("UserName", u.Name).el("AccessKeyId", k.ID).el("Status", k.Status).
			time("CreateDate", k.Created).close("member")
	}
	x.close("AccessKeyMetadata").bool("IsTruncated", false)
	return x.String(), nil
}

func iamUpdateAccessKey(r *request) (string, error) {
	u, err := r.user(r.form.s("UserName"))
	if err != nil {
		return "", err
	}
	id, status := r.form.s("AccessKeyId"), r.form.s("Status")
	if status != "Active" && status != "Inactive" {
		return "", iamValidation("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	k := u.key(id)
	if k == nil {
		return "", noSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	k.Status = status
	return "", nil
}

func (r *request) inlineOf(role bool, name string) (map[string]string, string, error) {
	if role {
		ro, err := r.role(name)
		if err != nil {
			return nil, "", err
		}
		return ro.Inline, "role", nil
	}
	u, err := r.user(name)
	if err != nil {
		return nil, "", err
	}
	return u.Inline, "user", nil
}

func ownerParam(role bool) string {
	if role {
		return "RoleName"
	}
	return "UserName"
}

func validPolicy(doc string) error {
	var v map[string]any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return badRequest("MalformedPolicyDocument", "Syntax errors in policy.")
	}
	if _, ok := v["Statement"]; !ok {
		return badRequest("MalformedPolicyDocument", "Policy document must contain a Statement")
	}
	return nil
}

func iamPutPolicy(role bool) queryHandler {
	return func(r *request) (string, error) {
		owner := r.form.s(ownerParam(role))
		m, _, err := r.inlineOf(role, owner)
		if err != nil {
			return "", err
		}
		doc, name := r.form.s("PolicyDocument"), r.form.s("PolicyName")
		if name == "" {
			return "", iamValidation("1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null")
		}
		if err := validPolicy(doc); err != nil {
			return "", err
		}
		m[name] = doc
		return "", nil
	}
}

func iamGetPolicy(role bool) queryHandler {
	return func(r *request) (string, error) {
		owner := r.form.s(ownerParam(role))
		m, kind, err := r.inlineOf(role, owner)
		if err != nil {
			return "", err
		}
		name := r.form.s("PolicyName")
		doc, ok := m[name]
		if !ok {
			return "", noSuchEntity("The %s policy with name %s cannot be found.", kind, name)
		}
		var x xw
		x.el(ownerParam(role), owner).el("PolicyName", name).el("PolicyDocument", policyEscape(doc))
		return x.String(), nil
	}
}

func iamDeletePolicy(role bool) queryHandler {
	return func(r *request) (string, error) {
		m, kind, err := r.inlineOf(role, r.form.s(ownerParam(role)))
		if err != nil {
			return "", err
		}
		name := r.form.s("PolicyName")
		if _, ok := m[name]; !ok {
			return "", noSuchEntity("The %s policy with name %s cannot be found.", kind, name)
		}
		delete(m, name)
		return "", nil
	}
}

func iamListPolicies(role bool) queryHandler {
	return func(r *request) (string, error) {
		m, _, err := r.inlineOf(role, r.form.s(ownerParam(role)))
		if err != nil {
			return "", err
		}
		var x xw
		x.members("PolicyNames", sortedKeys(m)).bool("IsTruncated", false)
		return x.String(), nil
	}
}

var policyARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/(.+/)?([\w+=,.@-]+)$`)

func (r *request) attachedOf(role bool, name string) (*[]string, error) {
	if role {
		ro, err := r.role(name)
		if err != nil {
			return nil, err
		}
		return &ro.Attached, nil
	}
	u, err := r.user(name)
	if err != nil {
		return nil, err
	}
	return &u.Attached, nil
}

func iamAttach(role bool) queryHandler {
	return func(r *request) (string, error) {
		list, err := r.attachedOf(role, r.form.s(ownerParam(role)))
		if err != nil {
			return "", err
		}
		arn := r.form.s("PolicyArn")
		m := policyARN.FindStringSubmatch(arn)
		if m == nil {
			return "", badRequest("InvalidInput", "ARN %s is not valid.", arn)
		}
		if m[1] != "aws" && m[1] != r.acct.id {
			return "", noSuchEntity("Policy %s does not exist or is not attachable.", arn)
		}
		if !slices.Contains(*list, arn) {
			*list = append(*list, arn)
		}
		return "", nil
	}
}

func iamDetach(role bool) queryHandler {
	return func(r *request) (string, error) {
		list, err := r.attachedOf(role, r.form.s(ownerParam(role)))
		if err != nil {
			return "", err
		}
		arn := r.form.s("PolicyArn")
		i := slices.Index(*list, arn)
		if i < 0 {
			return "", noSuchEntity("Policy %s was not found.", arn)
		}
		*list = slices.Delete(*list, i, i+1)
		return "", nil
	}
}

func iamListAttached(role bool) queryHandler {
	return func(r *request) (string, error) {
		list, err := r.attachedOf(role, r.form.s(ownerParam(role)))
		if err != nil {
			return "", err
		}
		var x xw
		x.open("AttachedPolicies")
		for _, arn := range *list {
			name := arn[strings.LastIndexByte(arn, '/')+1:]
			x.open("member").el("PolicyName", name).el("PolicyArn", arn).close("member")
		}
		x.close("AttachedPolicies").bool("IsTruncated", false)
		return x.String(), nil
	}
}

func iamGetLoginProfile(r *request) (string, error) {
	u, err := r.user(r.form.s("UserName"))
	if err != nil {
		return "", err
	}
	if u.LoginProfile == nil {
		return "", noSuchEntity("Login Profile for User %s cannot be found.", u.Name)
	}
	var x xw
	x.open("LoginProfile").el("UserName", u.Name).time("CreateDate", *u.LoginProfile).
		bool("PasswordResetRequired", false).close("LoginProfile")
	return x.String(), nil
}

func iamDeleteLoginProfile(r *request) (string, error) {
	u, err := r.user(r.form.s("UserName"))
	if err != nil {
		return "", err
	}
	if u.LoginProfile == nil {
		return "", noSuchEntity("Login Profile for User %s cannot be found.", u.Name)
	}
	u.LoginProfile = nil
	return "", nil
}

func (r *request) writeProfile(x *xw, name string, p *instanceProfile) {
	x.open(name).el("Path", p.Path).el("InstanceProfileName", p.Name).el("InstanceProfileId", p.ID).
		el("Arn", p.ARN).time("CreateDate", p.Created).open("Roles")
	for _, rn := range p.Roles {
		if ro := r.acct.roles[rn]; ro != nil {
			writeRole(x, "member", ro)
		}
	}
	x.close("Roles").close(name)
}

func iamGetInstanceProfile(r *request) (string, error) {
	name := r.form.s("InstanceProfileName")
	p := r.acct.profiles[name]
	if p == nil {
		return "", noSuchEntity("Instance Profile %s cannot be found.", name)
	}
	var x xw
	r.writeProfile(&x, "InstanceProfile", p)
	return x.String(), nil
}

func iamListProfilesForRole(r *request) (string, error) {
	ro, err := r.role(r.form.s("RoleName"))
	if err != nil {
		return "", err
	}
	var x xw
	x.open("InstanceProfiles")
	for _, n := range sortedKeys(r.acct.profiles) {
		if p := r.acct.profiles[n]; slices.Contains(p.Roles, ro.Name) {
			r.writeProfile(&x, "member", p)
		}
	}
	x.close("InstanceProfiles").bool("IsTruncated", false)
	return x.String(), nil
}
