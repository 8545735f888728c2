package terraform

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/reflexsec/reflex/action/ec2/isogroup"
	"github.com/reflexsec/reflex/setup"
	ddb "github.com/reflexsec/reflex/store/dynamodb"
)

var modules = []string{"reflex", "member-role", "isolation-groups"}

// module is the parsed top-level blocks of one Terraform module.
type module struct {
	dir    string
	blocks []*hclsyntax.Block
}

func load(t *testing.T, dir string) module {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no .tf files (%v)", dir, err)
	}
	p := hclparse.NewParser()
	m := module{dir: dir}
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", f, diags.Error())
		}
		m.blocks = append(m.blocks, file.Body.(*hclsyntax.Body).Blocks...)
	}
	return m
}

func (m module) find(typ string, labels ...string) *hclsyntax.Block {
	for _, b := range m.blocks {
		if b.Type == typ && slices.Equal(b.Labels[:min(len(labels), len(b.Labels))], labels) {
			return b
		}
	}
	return nil
}

// refs lists the variables an attribute's expression refers to, as
// "var.x", "local.y", "each.value", "aws_x.y" …
func refs(b *hclsyntax.Block, attr string) []string {
	a, ok := b.Body.Attributes[attr]
	if !ok {
		return nil
	}
	var out []string
	for _, tr := range a.Expr.Variables() {
		s := tr.RootName()
		if len(tr) > 1 {
			if at, ok := tr[1].(hcl.TraverseAttr); ok {
				s += "." + at.Name
			}
		}
		out = append(out, s)
	}
	return out
}

// TestModulesParseAndAreDocumented: every file parses; every variable has a
// type and a description, every output a description; the module README
// lists every input and output and shows an example.
func TestModulesParseAndAreDocumented(t *testing.T) {
	for _, dir := range modules {
		t.Run(dir, func(t *testing.T) {
			m := load(t, dir)
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			var vars, outs int
			for _, b := range m.blocks {
				switch b.Type {
				case "variable":
					vars++
					for _, attr := range []string{"type", "description"} {
						if _, ok := b.Body.Attributes[attr]; !ok {
							t.Errorf("variable %q has no %s", b.Labels[0], attr)
						}
					}
					if !strings.Contains(string(readme), "| `"+b.Labels[0]+"` |") {
						t.Errorf("README does not document input %q", b.Labels[0])
					}
				case "output":
					outs++
					if _, ok := b.Body.Attributes["description"]; !ok {
						t.Errorf("output %q has no description", b.Labels[0])
					}
					if !strings.Contains(string(readme), "| `"+b.Labels[0]+"` |") {
						t.Errorf("README does not document output %q", b.Labels[0])
					}
				case "terraform":
					if len(b.Body.Blocks) == 0 || b.Body.Blocks[0].Type != "required_providers" {
						t.Error("terraform block does not pin its providers")
					}
				}
			}
			if vars == 0 || outs == 0 {
				t.Errorf("%d variables, %d outputs", vars, outs)
			}
			if !strings.Contains(string(readme), "## Example") || !strings.Contains(string(readme), "```hcl") {
				t.Error("README has no example")
			}
		})
	}
}

// TestGeneratedArtifactsAreWired: the EventBridge rules use the patterns
// `reflex eventbridge-pattern` generates, both roles carry the policy
// `reflex iam-policy` generates, and the member role trusts only reflex's
// role with the external id.
func TestGeneratedArtifactsAreWired(t *testing.T) {
	r := load(t, "reflex")
	checks := []struct {
		block *hclsyntax.Block
		attr  string
		want  string
	}{
		{r.find("locals"), "patterns", "var.event_patterns"},
		{r.find("resource", "aws_cloudwatch_event_rule", "findings"), "event_pattern", "each.value"},
		{r.find("resource", "aws_cloudwatch_event_rule", "findings"), "for_each", "local.rules"},
		{r.find("resource", "aws_iam_role_policy", "response"), "policy", "var.response_policy_json"},
		{r.find("resource", "aws_iam_role_policy", "response"), "role", "aws_iam_role.reflex"},
		{r.find("resource", "aws_lambda_function", "reflex"), "role", "aws_iam_role.reflex"},
		{r.find("resource", "aws_lambda_function", "reflex"), "filename", "var.lambda_zip"},
		{r.find("resource", "aws_lambda_function", "reflex"), "reserved_concurrent_executions", "var.reserved_concurrency"},
		{r.find("resource", "aws_guardduty_detector", "this"), "finding_publishing_frequency", "var.finding_publishing_frequency"},
		{r.find("resource", "aws_guardduty_organization_configuration", "this"), "auto_enable_organization_members", "var.auto_enable_organization_members"},
	}
	m := load(t, "member-role")
	checks = append(checks,
		struct {
			block *hclsyntax.Block
			attr  string
			want  string
		}{m.find("resource", "aws_iam_role_policy", "response"), "policy", "var.response_policy_json"},
	)
	for _, c := range checks {
		if c.block == nil {
			t.Errorf("block for %s not found", c.attr)
			continue
		}
		if got := refs(c.block, c.attr); !slices.Contains(got, c.want) {
			t.Errorf("%s %v: %s refers to %v, want %s", c.block.Type, c.block.Labels, c.attr, got, c.want)
		}
	}
	// The Lambda runs the static bootstrap binary on the OS-only runtime.
	fn := r.find("resource", "aws_lambda_function", "reflex")
	for attr, want := range map[string]string{"runtime": "provided.al2023", "handler": "bootstrap"} {
		v, diags := fn.Body.Attributes[attr].Expr.Value(nil)
		if diags.HasErrors() || v.AsString() != want {
			t.Errorf("lambda %s = %v, want %s", attr, v, want)
		}
	}
	// The member role's trust names reflex's role and requires the external id.
	trust := m.find("data", "aws_iam_policy_document", "trust")
	var sawPrincipal, sawExternalID bool
	for _, st := range trust.Body.Blocks {
		for _, b := range st.Body.Blocks {
			if b.Type == "principals" && slices.Contains(refs(b, "identifiers"), "var.responder_role_arn") {
				sawPrincipal = true
			}
			if b.Type == "condition" && slices.Contains(refs(b, "values"), "var.external_id") {
				sawExternalID = true
			}
		}
	}
	if !sawPrincipal || !sawExternalID {
		t.Errorf("member trust policy: principal %v, external id %v", sawPrincipal, sawExternalID)
	}
}

// TestLedgerTableMatchesTheLedger: the Terraform table has the keys,
// indexes and TTL attribute the DynamoDB ledger creates for itself
// (store/dynamodb.TableInput), so a table made by Terraform works.
func TestLedgerTableMatchesTheLedger(t *testing.T) {
	r := load(t, "reflex")
	tbl := r.find("resource", "aws_dynamodb_table", "ledger")
	if tbl == nil {
		t.Fatal("no ledger table")
	}
	want := ddb.TableInput("x")
	str := func(b *hclsyntax.Block, attr string) string {
		a, ok := b.Body.Attributes[attr]
		if !ok {
			return ""
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return ""
		}
		return v.AsString()
	}
	if str(tbl, "hash_key") != *want.KeySchema[0].AttributeName || str(tbl, "range_key") != *want.KeySchema[1].AttributeName {
		t.Errorf("keys %s/%s", str(tbl, "hash_key"), str(tbl, "range_key"))
	}
	indexes := map[string][2]string{}
	for _, b := range tbl.Body.Blocks {
		if b.Type == "global_secondary_index" {
			indexes[str(b, "name")] = [2]string{str(b, "hash_key"), str(b, "range_key")}
			if str(b, "projection_type") != "ALL" {
				t.Errorf("index %s projects %s", str(b, "name"), str(b, "projection_type"))
			}
		}
		if b.Type == "ttl" {
			if str(b, "attribute_name") != "ttl" {
				t.Errorf("ttl attribute %q", str(b, "attribute_name"))
			}
		}
	}
	for _, g := range want.GlobalSecondaryIndexes {
		got, ok := indexes[*g.IndexName]
		if !ok || got[0] != *g.KeySchema[0].AttributeName || got[1] != *g.KeySchema[1].AttributeName {
			t.Errorf("index %s: %v, want %s/%s", *g.IndexName, got, *g.KeySchema[0].AttributeName, *g.KeySchema[1].AttributeName)
		}
	}
	if len(indexes) != len(want.GlobalSecondaryIndexes) {
		t.Errorf("%d indexes, the ledger has %d", len(indexes), len(want.GlobalSecondaryIndexes))
	}
	// The function finds the table where the runtime looks for it.
	fn, _ := os.ReadFile(filepath.Join("reflex", "lambda.tf"))
	if !strings.Contains(string(fn), `REFLEX_LEDGER = "dynamodb://${aws_dynamodb_table.ledger[0].name}"`) {
		t.Error("the Lambda's REFLEX_LEDGER is not dynamodb://TABLE")
	}
	// The garbage collector's settings are those reflex setup deploys (and
	// the cold-start test measures).
	if !strings.Contains(string(fn), `GOGC = "`+setup.LambdaGOGC+`"`) || !strings.Contains(string(fn), `GOMEMLIMIT = "${floor(var.lambda_memory_mb * 0.8)}MiB"`) {
		t.Errorf("the Lambda's GOGC is not setup.LambdaGOGC (%s) or its GOMEMLIMIT not 80%% of its memory", setup.LambdaGOGC)
	}
}

// TestLambdaFindsItsConfiguration: the function is always told where its
// configuration is — the SSM parameter or the packaged reflex.yaml (without
// REFLEX_CONFIG it would fail on its first invocation) — as reflex setup
// tells it.
func TestLambdaFindsItsConfiguration(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("reflex", "lambda.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `{ REFLEX_CONFIG = var.config_ssm_parameter != "" ? "ssm:${var.config_ssm_parameter}" : "reflex.yaml" }`) {
		t.Error("lambda.tf does not set REFLEX_CONFIG for both the SSM parameter and the packaged reflex.yaml")
	}
}

// TestIsolationGroupsMatchTheSteps: the groups the isolation-groups module
// makes have the names, descriptions, tag and exactly the rules of
// package isogroup — those ec2.isolate and ec2.contain find their groups
// by and reflex setup makes — and the member-role and reflex modules make
// them in their isolation_vpc_ids.
func TestIsolationGroupsMatchTheSteps(t *testing.T) {
	m := load(t, "isolation-groups")
	// The module's expressions, evaluated as Terraform would for one VPC,
	// with tags given that the module's own must override.
	locals := map[string]cty.Value{}
	for name, a := range m.find("locals").Body.Attributes {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("local.%s: %s", name, diags.Error())
		}
		locals[name] = v
	}
	const vpc = "vpc-0a11111111111111a"
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"local": cty.ObjectVal(locals),
			"each":  cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(vpc), "value": cty.StringVal(vpc)}),
			"var": cty.ObjectVal(map[string]cty.Value{
				"vpc_ids": cty.ListVal([]cty.Value{cty.StringVal(vpc)}),
				"tags": cty.MapVal(map[string]cty.Value{"team": cty.StringVal("soc"), isogroup.Tag: cty.StringVal("mine"),
					"Name": cty.StringVal("mine")}),
			}),
		},
		Functions: map[string]function.Function{"merge": stdlib.MergeFunc},
	}
	eval := func(b *hclsyntax.Block, attr string) cty.Value {
		t.Helper()
		a, ok := b.Body.Attributes[attr]
		if !ok {
			t.Fatalf("%v: no %s", b.Labels, attr)
		}
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("%v %s: %s", b.Labels, attr, diags.Error())
		}
		return v
	}
	strs := func(v cty.Value) []string {
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, e.AsString())
		}
		return out
	}
	// rules reads a direction's rules: blocks (ingress { … }), or the
	// attribute form (ingress = []) that makes Terraform remove any other.
	rules := func(b *hclsyntax.Block, dir string) ([]types.IpPermission, bool) {
		t.Helper()
		var out []types.IpPermission
		managed := false
		if _, ok := b.Body.Attributes[dir]; ok {
			if v := eval(b, dir); v.LengthInt() != 0 {
				t.Errorf("%v %s = %#v: only [] is expected in the attribute form", b.Labels, dir, v)
			}
			managed = true
		}
		for _, r := range b.Body.Blocks {
			if r.Type != dir {
				continue
			}
			managed = true
			proto := eval(r, "protocol").AsString()
			from, _ := eval(r, "from_port").AsBigFloat().Int64()
			to, _ := eval(r, "to_port").AsBigFloat().Int64()
			p := types.IpPermission{IpProtocol: aws.String(proto)}
			if proto != "-1" {
				p.FromPort, p.ToPort = aws.Int32(int32(from)), aws.Int32(int32(to))
			} else if from != 0 || to != 0 {
				t.Errorf("%v %s: protocol -1 with ports %d-%d", b.Labels, dir, from, to)
			}
			for _, c := range strs(eval(r, "cidr_blocks")) {
				p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
			}
			for _, c := range strs(eval(r, "ipv6_cidr_blocks")) {
				p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c)})
			}
			out = append(out, p)
		}
		return out, managed
	}
	sorted := func(p []types.IpPermission) []string { s := isogroup.Describe(p); slices.Sort(s); return s }
	for resource, kind := range map[string]string{"untrack": isogroup.Untrack, "isolation": isogroup.Isolate} {
		b := m.find("resource", "aws_security_group", resource)
		if b == nil {
			t.Errorf("no aws_security_group.%s", resource)
			continue
		}
		if got := refs(b, "for_each"); !slices.Contains(got, "var.vpc_ids") {
			t.Errorf("%s: for_each refers to %v, want var.vpc_ids", resource, got)
		}
		if got := eval(b, "vpc_id").AsString(); got != vpc {
			t.Errorf("%s: vpc_id %s", resource, got)
		}
		if got := eval(b, "name").AsString(); got != isogroup.Name(kind) {
			t.Errorf("%s: name %q, want %q", resource, got, isogroup.Name(kind))
		}
		if got := eval(b, "description").AsString(); got != isogroup.Description(kind) {
			t.Errorf("%s: description %q, want %q (EC2 cannot change it: a difference replaces the group)", resource, got, isogroup.Description(kind))
		}
		tags := map[string]string{}
		for k, v := range eval(b, "tags").AsValueMap() {
			tags[k] = v.AsString()
		}
		want := isogroup.Tags(kind)
		want["team"] = "soc"
		if !maps.Equal(tags, want) {
			t.Errorf("%s: tags %v, want %v", resource, tags, want)
		}
		in, out := isogroup.Rules(kind)
		for _, d := range []struct {
			dir  string
			want []types.IpPermission
		}{{"ingress", in}, {"egress", out}} {
			got, managed := rules(b, d.dir)
			if !managed {
				t.Errorf("%s: %s not managed (give %s = [] for none): rules added by hand would stay", resource, d.dir, d.dir)
			}
			if !slices.Equal(sorted(got), sorted(d.want)) {
				t.Errorf("%s %s: %v, want %v", resource, d.dir, sorted(got), sorted(d.want))
			}
		}
	}
	// The modules that use it make the groups in their isolation_vpc_ids.
	for _, dir := range []string{"member-role", "reflex"} {
		b := load(t, dir).find("module", "isolation_groups")
		if b == nil {
			t.Errorf("%s: no module isolation_groups", dir)
			continue
		}
		if src := eval(b, "source").AsString(); src != "../isolation-groups" {
			t.Errorf("%s: isolation_groups from %s", dir, src)
		}
		if got := refs(b, "vpc_ids"); !slices.Equal(got, []string{"var.isolation_vpc_ids"}) {
			t.Errorf("%s: vpc_ids refers to %v, want var.isolation_vpc_ids", dir, got)
		}
		v := load(t, dir).find("variable", "isolation_vpc_ids")
		if v == nil {
			t.Errorf("%s: no variable isolation_vpc_ids", dir)
			continue
		}
		if def, diags := v.Body.Attributes["default"].Expr.Value(nil); diags.HasErrors() || def.LengthInt() != 0 {
			t.Errorf("%s: isolation_vpc_ids defaults to %#v, want none", dir, def)
		}
	}
}
