package action

import (
	"context"
	"fmt"
	"sync"

	"github.com/reflexsec/reflex/finding"
)

// declaredStep is an AWS step whose contract (name, parameters, targets, IAM
// actions, the calls it makes) is known but whose implementation is not in
// this build. It validates and plans — its plan says it is not available —
// and fails, without retry, if asked to run. The AWS packages replace these
// with implementations (Registry.Register).
type declaredStep struct {
	spec  Spec
	calls []Call // Target is filled from the request
}

// Declared returns a declared (not implemented) step, for tests and for
// packages that describe steps before implementing them.
func Declared(spec Spec, calls ...Call) Step {
	spec.Available = false
	return declaredStep{spec: spec, calls: calls}
}

func (d declaredStep) Spec() Spec { return d.spec }

func (d declaredStep) Plan(_ context.Context, req *Request) ([]Call, error) {
	out := make([]Call, len(d.calls))
	for i, c := range d.calls {
		if req.Target != nil {
			c.Target = TargetID(req.Target)
		}
		if c.Note == "" {
			c.Note = "not available in this build"
		} else {
			c.Note += "; not available in this build"
		}
		out[i] = c
	}
	return out, nil
}

func (d declaredStep) Do(context.Context, *Request) Result {
	return Failed(fmt.Errorf("%s: %w (declared only; the AWS steps arrive in a later release)", d.spec.Name, ErrNotImplemented), false)
}

func (d declaredStep) Undo(context.Context, *Request) Result {
	return Failed(fmt.Errorf("%s: %w", d.spec.Name, ErrNotImplemented), false)
}

// provided are the implementations AWS step packages offer (Provide).
var provided struct {
	sync.Mutex
	fns []func() []Step
}

// Provide offers implementations of steps: every registry made by
// NewRegistry after it holds them in place of the declared steps of the
// same name. The AWS step packages (action/ec2, action/iam, action/s3,
// action/findings) call it from init, so importing them is enough; their
// steps take AWS clients from the context (cloud.NewContext), never from a
// package variable.
func Provide(fn func() []Step) {
	provided.Lock()
	provided.fns = append(provided.fns, fn)
	provided.Unlock()
}

// declared returns the AWS steps: implementations where a package
// provided them, the declared contracts otherwise.
func declared() []Step {
	impl := map[string]Step{}
	var order []string
	provided.Lock()
	for _, fn := range provided.fns {
		for _, s := range fn() {
			if _, dup := impl[s.Spec().Name]; !dup {
				order = append(order, s.Spec().Name)
			}
			impl[s.Spec().Name] = s
		}
	}
	provided.Unlock()
	var out []Step
	for _, d := range declaredContracts() {
		if s, ok := impl[d.Spec().Name]; ok {
			out = append(out, s)
			delete(impl, d.Spec().Name)
			continue
		}
		out = append(out, d)
	}
	for _, n := range order {
		if s, ok := impl[n]; ok {
			out = append(out, s)
		}
	}
	return out
}

// DeclaredContracts returns the declared (not implemented) AWS steps, for
// tests that keep them in line with the implementations.
func DeclaredContracts() []Step { return declaredContracts() }

func declaredContracts() []Step {
	inst := []string{finding.KindInstance}
	principal := []string{finding.KindUser, finding.KindRole}
	return []Step{
		Declared(Spec{Name: "ec2.capture-evidence", Effect: ReadOnly, Targets: inst,
			Description: "Capture the instance's metadata before any change: instance, interfaces, security groups, profile, tags, Auto Scaling and load balancer membership, console output.",
			IAMActions:  []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:GetConsoleOutput", "autoscaling:DescribeAutoScalingInstances", "elasticloadbalancing:DescribeTargetHealth"}},
			Call{Service: "ec2", Action: "DescribeInstances"}, Call{Service: "ec2", Action: "GetConsoleOutput"}),
		Declared(Spec{Name: "ec2.protect", Effect: Reversible, Targets: inst,
			Description: "Protect the evidence: termination protection, shutdown behaviour stop, DeleteOnTermination=false on every volume.",
			IAMActions:  []string{"ec2:ModifyInstanceAttribute", "ec2:DescribeInstances"}},
			Call{Service: "ec2", Action: "ModifyInstanceAttribute", Input: map[string]any{"DisableApiTermination": true}},
			Call{Service: "ec2", Action: "ModifyInstanceAttribute", Input: map[string]any{"InstanceInitiatedShutdownBehavior": "stop"}},
			Call{Service: "ec2", Action: "ModifyInstanceAttribute", Input: map[string]any{"BlockDeviceMappings": "DeleteOnTermination=false"}}),
		Declared(Spec{Name: "ec2.tag", Effect: Reversible, Targets: inst,
			Description: "Tag the instance with the finding id, its original security groups and the time of containment.",
			Params:      []Param{{Name: "prefix", Type: TypeString, Default: "reflex:", Description: "prefix of the tag keys"}},
			IAMActions:  []string{"ec2:CreateTags", "ec2:DeleteTags"}},
			Call{Service: "ec2", Action: "CreateTags"}),
		Declared(Spec{Name: "ec2.detach-autoscaling", Effect: Reversible, Targets: inst,
			Description: "Detach the instance from its Auto Scaling group without decrementing the desired capacity.",
			IAMActions:  []string{"autoscaling:DescribeAutoScalingInstances", "autoscaling:DetachInstances", "autoscaling:AttachInstances"}},
			Call{Service: "autoscaling", Action: "DetachInstances", Input: map[string]any{"ShouldDecrementDesiredCapacity": false}}),
		Declared(Spec{Name: "ec2.deregister-targets", Effect: Reversible, Targets: inst,
			Description: "Deregister the instance from every load balancer target group it is in.",
			IAMActions:  []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"}},
			Call{Service: "elasticloadbalancing", Action: "DeregisterTargets"}),
		Declared(Spec{Name: "ec2.snapshot", Effect: Reversible, Targets: inst,
			Description: "Start snapshots of every EBS volume of the instance (CreateSnapshots, tagged); does not wait for completion. Release keeps the snapshots.",
			Params:      []Param{{Name: "copy_tags", Type: TypeBool, Default: true, Description: "copy the volumes' tags to the snapshots"}},
			IAMActions:  []string{"ec2:CreateSnapshots", "ec2:CreateTags", "ec2:DescribeSnapshots"}},
			Call{Service: "ec2", Action: "CreateSnapshots", Input: map[string]any{"CopyTagsFromSource": "volume"}}),
		Declared(Spec{Name: "ec2.isolate", Effect: Reversible, Targets: inst,
			Description: "Isolate the instance interface by interface: an allow-all group first (turns tracked connections untracked), then an isolation group with no rules.",
			Params: []Param{
				{Name: "isolation_group", Type: TypeString, Description: "security group id to use (default: one created per VPC)"},
				{Name: "untrack_first", Type: TypeBool, Default: true, Description: "pass through an allow-all group so established connections are cut"},
			},
			IAMActions: []string{"ec2:DescribeNetworkInterfaces", "ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:ModifyNetworkInterfaceAttribute"}},
			Call{Service: "ec2", Action: "ModifyNetworkInterfaceAttribute", Note: "allow-all group, per interface"},
			Call{Service: "ec2", Action: "ModifyNetworkInterfaceAttribute", Note: "isolation group, per interface"}),
		Declared(Spec{Name: "ec2.disassociate-eips", Effect: Reversible, Targets: inst,
			Description: "Disassociate the Elastic IPs of the instance's interfaces.",
			IAMActions:  []string{"ec2:DescribeAddresses", "ec2:DisassociateAddress", "ec2:AssociateAddress"}},
			Call{Service: "ec2", Action: "DisassociateAddress"}),
		Declared(Spec{Name: "ec2.revoke-instance-credentials", Effect: Reversible, Targets: inst,
			Description: "Detach the instance profile and deny the role's sessions issued before now (aws:TokenIssueTime). The role may be shared: every session of it is cut.",
			Params: []Param{
				{Name: "replace_with", Type: TypeString, Description: "instance profile name or ARN to put in place (default: remove the profile)"},
				{Name: "revoke_role_sessions", Type: TypeBool, Default: false, Description: "also deny the role's sessions issued before now (hits every user of the role)"},
			},
			IAMActions: []string{"ec2:DescribeIamInstanceProfileAssociations", "ec2:DisassociateIamInstanceProfile", "ec2:AssociateIamInstanceProfile", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}},
			Call{Service: "ec2", Action: "DisassociateIamInstanceProfile"}, Call{Service: "iam", Action: "PutRolePolicy", Note: "only with revoke_role_sessions"}),
		Declared(Spec{Name: "ec2.contain", Effect: Reversible, Targets: inst,
			Description: "The whole EC2 containment (capture, protect, tag, detach from Auto Scaling, deregister, snapshot, isolate, Elastic IPs, instance profile) in one step and three round trips when reflex's groups are in the VPC (reflex setup makes them ahead).",
			Params: []Param{
				{Name: "isolation_group", Type: TypeString, Description: "security group id to use as the isolation group (default: reflex-isolation, created per VPC)"},
				{Name: "untrack_first", Type: TypeBool, Default: true, Description: "pass through an allow-all group so established connections are cut"},
				{Name: "remove_profile", Type: TypeBool, Default: true, Description: "remove the instance profile (no new instance credentials)"},
			},
			IAMActions: []string{"ec2:DescribeInstances", "ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateSnapshots", "autoscaling:DetachInstances", "elasticloadbalancing:DeregisterTargets"}},
			Call{Service: "ec2", Action: "ModifyNetworkInterfaceAttribute", Note: "untrack then isolation group, every interface in parallel"}),
		Declared(Spec{Name: "ec2.stop", Effect: Irreversible, Targets: inst,
			Description: "Stop the instance (memory is lost). Never runs when evidence capture failed. Approve mode only.",
			IAMActions:  []string{"ec2:StopInstances"}},
			Call{Service: "ec2", Action: "StopInstances"}),
		Declared(Spec{Name: "iam.deactivate-key", Effect: Reversible, Targets: []string{finding.KindAccessKey},
			Description: "Deactivate exactly the access key in the finding (UpdateAccessKey Status=Inactive; never deletes, never touches the user's other keys).",
			IAMActions:  []string{"iam:UpdateAccessKey", "iam:ListAccessKeys"}},
			Call{Service: "iam", Action: "UpdateAccessKey", Input: map[string]any{"Status": "Inactive"}}),
		Declared(Spec{Name: "iam.deny-all", Effect: Reversible, Targets: principal,
			Description: "Attach AWSDenyAll to the user or role of the finding.",
			Params: []Param{
				{Name: "policy_arn", Type: TypeString, Default: "arn:aws:iam::aws:policy/AWSDenyAll", Description: "the managed deny policy to attach"},
				{Name: "inline", Type: TypeBool, Default: false, Description: "put an inline deny-all policy (reflex-deny-all) instead of attaching a managed one"},
			},
			IAMActions: []string{"iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy"}},
			Call{Service: "iam", Action: "AttachUserPolicy|AttachRolePolicy"}),
		Declared(Spec{Name: "iam.revoke-sessions", Effect: Reversible, Targets: principal,
			Description: "Deny the principal's temporary sessions issued before now (aws:TokenIssueTime). Does not stop long-term keys: deactivate them too.",
			IAMActions:  []string{"iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}},
			Call{Service: "iam", Action: "PutUserPolicy|PutRolePolicy", Note: "Deny * when aws:TokenIssueTime < now"}),
		Declared(Spec{Name: "iam.delete-login-profile", Effect: Irreversible, Targets: []string{finding.KindUser},
			Description: "Delete the user's console password. The password cannot be restored: approve mode only.",
			IAMActions:  []string{"iam:GetLoginProfile", "iam:DeleteLoginProfile"}},
			Call{Service: "iam", Action: "DeleteLoginProfile"}),
		Declared(Spec{Name: "s3.block-public-access", Effect: Reversible, Targets: []string{finding.KindBucket},
			Description: "Turn on all four Block Public Access settings of the bucket, recording the previous ones.",
			IAMActions:  []string{"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"}},
			Call{Service: "s3", Action: "PutPublicAccessBlock", Input: map[string]any{"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}),
		Declared(Spec{Name: "findings.update", Effect: Reversible,
			Description: "Close the loop on the finding: archive it in GuardDuty and/or set its Security Hub workflow status with a note.",
			Params: []Param{
				{Name: "archive", Type: TypeBool, Default: false, Description: "archive the GuardDuty finding"},
				{Name: "workflow", Type: TypeString, Enum: []string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}, Description: "Security Hub workflow status to set"},
				{Name: "note", Type: TypeString, Description: "note added to the finding"},
			},
			IAMActions: []string{"guardduty:ListDetectors", "guardduty:GetFindings", "guardduty:ArchiveFindings", "guardduty:UnarchiveFindings", "securityhub:BatchUpdateFindings"}},
			Call{Service: "guardduty", Action: "ArchiveFindings", Note: "with archive"}, Call{Service: "securityhub", Action: "BatchUpdateFindings", Note: "with workflow or note"}),
		Declared(Spec{Name: "guardduty.archive", Effect: Reversible,
			Description: "Archive the finding in GuardDuty (release unarchives it, unless it was archived before).",
			IAMActions:  []string{"guardduty:ListDetectors", "guardduty:GetFindings", "guardduty:ArchiveFindings", "guardduty:UnarchiveFindings"}},
			Call{Service: "guardduty", Action: "ArchiveFindings"}),
		Declared(Spec{Name: "guardduty.feedback", Effect: ReadOnly,
			Description: "Give GuardDuty feedback on the finding (USEFUL or NOT_USEFUL).",
			Params: []Param{
				{Name: "feedback", Type: TypeString, Default: "USEFUL", Enum: []string{"USEFUL", "NOT_USEFUL"}, Description: "the feedback"},
				{Name: "comments", Type: TypeString, Default: "", Description: "a comment sent with it"},
			},
			IAMActions: []string{"guardduty:ListDetectors", "guardduty:UpdateFindingsFeedback"}},
			Call{Service: "guardduty", Action: "UpdateFindingsFeedback"}),
		Declared(Spec{Name: "securityhub.update", Effect: Reversible,
			Description: "Set the finding's Security Hub workflow status and add a note saying what reflex did.",
			Params: []Param{
				{Name: "workflow", Type: TypeString, Default: "NOTIFIED", Enum: []string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}, Description: "the workflow status to set"},
				{Name: "note", Type: TypeString, Default: "", Description: "the note (default: what reflex did and where to read it)"},
			},
			IAMActions: []string{"securityhub:BatchUpdateFindings"}},
			Call{Service: "securityhub", Action: "BatchUpdateFindings"}),
	}
}
