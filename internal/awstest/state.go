package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/reflexsec/reflex/internal/sandbox"
)

// State is the sandbox's containment-relevant state, as the AWS APIs
// describe it (DescribeInstances, DescribeNetworkInterfaces,
// DescribeAddresses, DescribeSecurityGroups, Security Hub GetFindings
// through the SDK) and as the test cloud holds it (Auto Scaling, target
// groups, IAM, S3, whether GuardDuty's findings are archived), flattened to
// "path = value" fields so two states compare field by field.
type State map[string]string

var assocID = regexp.MustCompile(`eipassoc-[0-9a-f]+`)

// Snapshot reads the state.
func (e *Env) Snapshot(ctx context.Context) (State, error) {
	cfg, err := e.Base(ctx)
	if err != nil {
		return nil, err
	}
	c := sdk.NewFromConfig(cfg)
	st := State{}
	in, err := c.DescribeInstances(ctx, &sdk.DescribeInstancesInput{InstanceIds: []string{sandbox.Instance}})
	if err != nil {
		return nil, err
	}
	flatten(st, "instance", in.Reservations[0].Instances[0])
	enis, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{sandbox.ENI1, sandbox.ENI2}})
	if err != nil {
		return nil, err
	}
	for _, n := range enis.NetworkInterfaces {
		flatten(st, "eni/"+aws.ToString(n.NetworkInterfaceId), n)
	}
	addrs, err := c.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{})
	if err != nil {
		return nil, err
	}
	for _, a := range addrs.Addresses {
		flatten(st, "address/"+aws.ToString(a.AllocationId), a)
	}
	sgs, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{sandbox.SGWeb, sandbox.SGApp, sandbox.SGAdmin}})
	if err != nil {
		return nil, err
	}
	for _, g := range sgs.SecurityGroups {
		flatten(st, "sg/"+aws.ToString(g.GroupId), g)
	}
	prof, err := c.DescribeIamInstanceProfileAssociations(ctx, &sdk.DescribeIamInstanceProfileAssociationsInput{
		Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{sandbox.Instance}}}})
	if err != nil {
		return nil, err
	}
	for _, a := range prof.IamInstanceProfileAssociations {
		if a.State == types.IamInstanceProfileAssociationStateAssociated {
			st["profile"] = aws.ToString(a.IamInstanceProfile.Arn)
		}
	}
	cl := e.Cloud
	if insts, _, ok := cl.AutoScalingGroup(sandbox.Prod, sandbox.Region, sandbox.ASG); ok {
		st["asg/"+sandbox.ASG+"/has-instance"] = fmt.Sprint(contains(insts, sandbox.Instance))
	}
	for _, tg := range []string{"web-tg", "admin-tg"} {
		ts, _ := cl.Targets(sandbox.Prod, sandbox.Region, tg)
		st["target-group/"+tg+"/has-instance"] = fmt.Sprint(contains(ts, sandbox.Instance))
	}
	for _, k := range []string{sandbox.Key, sandbox.OtherKey} {
		s, _ := cl.AccessKeyStatus(sandbox.Prod, sandbox.User, k)
		st["iam/user/alice/key/"+k] = s
	}
	for _, p := range [][2]string{{"user", sandbox.User}, {"role", sandbox.Role}, {"role", "web-role"}} {
		inline, attached, _ := cl.PrincipalPolicies(sandbox.Prod, p[0], p[1])
		names := make([]string, 0, len(inline))
		for n := range inline {
			names = append(names, n)
		}
		sort.Strings(names)
		sort.Strings(attached)
		st["iam/"+p[0]+"/"+p[1]+"/inline"] = strings.Join(names, ",")
		st["iam/"+p[0]+"/"+p[1]+"/attached"] = strings.Join(attached, ",")
	}
	st["iam/user/alice/login-profile"] = fmt.Sprint(cl.HasLoginProfile(sandbox.Prod, sandbox.User))
	for _, n := range []string{"ec2", "iam-user", "assumed-role", "s3"} {
		f, err := sandbox.Finding(n)
		if err != nil {
			return nil, err
		}
		if g, ok := cl.Finding(f.AccountID, f.Region, f.ID); ok {
			svc, _ := g["service"].(map[string]any)
			st["guardduty/"+n+"/archived"] = fmt.Sprint(svc["archived"] == true)
		}
	}
	// Security Hub, through GetFindings: each finding's workflow status and note
	hub := securityhub.NewGetFindingsPaginator(securityhub.NewFromConfig(cfg), &securityhub.GetFindingsInput{})
	for hub.HasMorePages() {
		page, err := hub.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range page.Findings {
			k := "securityhub/" + aws.ToString(f.Id)
			if f.Workflow != nil {
				st[k+"/workflow"] = string(f.Workflow.Status)
			}
			if f.Note != nil {
				st[k+"/note"] = aws.ToString(f.Note.Text) + " (by " + aws.ToString(f.Note.UpdatedBy) + ")"
			}
		}
	}
	if pab, ok := cl.PublicAccessBlock(sandbox.Bucket); ok {
		st["s3/"+sandbox.Bucket+"/public-access-block"] = fmt.Sprintf("%+v", pab)
	} else {
		st["s3/"+sandbox.Bucket+"/public-access-block"] = "none"
	}
	return st, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// flatten writes v's JSON form as path = value fields. Association ids
// (which AWS mints anew on every association) are replaced by
// "eipassoc-*".
func flatten(st State, prefix string, v any) {
	b, _ := json.Marshal(v)
	var x any
	_ = json.Unmarshal(b, &x)
	var walk func(p string, x any)
	walk = func(p string, x any) {
		switch t := x.(type) {
		case map[string]any:
			for k, v := range t {
				walk(p+"."+k, v)
			}
		case []any:
			// tags and group lists: order-independent by key
			for i, v := range t {
				key := fmt.Sprint(i)
				if m, ok := v.(map[string]any); ok {
					if k, ok := m["Key"].(string); ok {
						key = k
					} else if g, ok := m["GroupId"].(string); ok {
						key = g
					} else if d, ok := m["DeviceName"].(string); ok {
						key = d
					} else if n, ok := m["NetworkInterfaceId"].(string); ok {
						key = n
					}
				}
				walk(p+"["+key+"]", v)
			}
			if len(t) == 0 {
				st[p] = "[]"
			}
		case nil:
		default:
			st[p] = assocID.ReplaceAllString(fmt.Sprint(t), "eipassoc-*")
		}
	}
	walk(prefix, x)
}

// Diff lists the fields that differ, sorted: "path: before → after".
func Diff(before, after State) []string {
	var out []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			out = append(out, fmt.Sprintf("%s: %s → (absent)", k, v))
		} else if w != v {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, v, w))
		}
	}
	for k, w := range after {
		if _, ok := before[k]; !ok {
			out = append(out, fmt.Sprintf("%s: (absent) → %s", k, w))
		}
	}
	sort.Strings(out)
	return out
}
