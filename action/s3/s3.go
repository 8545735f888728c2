// Package s3 holds reflex's S3 containment step: turn on Block Public
// Access for the finding's bucket(s), recording the previous settings.
package s3

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
	"github.com/reflexsec/reflex/cloud"
	"github.com/reflexsec/reflex/finding"
)

// Steps returns the S3 steps.
func Steps() []action.Step { return []action.Step{blockPublicAccess()} }

// Settings are a bucket's four Block Public Access settings.
type Settings struct {
	BlockPublicAcls       bool `json:"block_public_acls"`
	IgnorePublicAcls      bool `json:"ignore_public_acls"`
	BlockPublicPolicy     bool `json:"block_public_policy"`
	RestrictPublicBuckets bool `json:"restrict_public_buckets"`
}

func (s Settings) all() bool {
	return s.BlockPublicAcls && s.IgnorePublicAcls && s.BlockPublicPolicy && s.RestrictPublicBuckets
}

func (s Settings) sdk() *types.PublicAccessBlockConfiguration {
	return &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(s.BlockPublicAcls), IgnorePublicAcls: aws.Bool(s.IgnorePublicAcls),
		BlockPublicPolicy: aws.Bool(s.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(s.RestrictPublicBuckets)}
}

type prior struct {
	Bucket   string    `json:"bucket"`
	Existed  bool      `json:"existed"`
	Settings *Settings `json:"settings,omitempty"`
}

func blockPublicAccess() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "s3.block-public-access", Effect: action.Reversible, Targets: []string{finding.KindBucket},
			Description: "Turn on all four Block Public Access settings of the finding's bucket(s), recording the previous configuration " +
				"(or its absence); release puts it back (or deletes the block).",
			Example:    "- step: s3.block-public-access",
			IAMActions: []string{"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"}},
		PlanFn: func(req *action.Request) []action.Call {
			b := req.Target.Name
			return []action.Call{{Service: "s3", Action: "GetPublicAccessBlock", Target: b},
				{Service: "s3", Action: "PutPublicAccessBlock", Target: b, Input: map[string]any{"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}, Note: "unless all four are on"}}
		},
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			b := req.Target.Name
			c, err := env.S3(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			p := prior{Bucket: b}
			out, err := c.GetPublicAccessBlock(ctx, &sdk.GetPublicAccessBlockInput{Bucket: aws.String(b)})
			var cur *Settings
			switch {
			case cloud.Code(err) == "NoSuchPublicAccessBlockConfiguration":
			case err != nil:
				return awsstep.Fail(err, "read the public access block of %s", b)
			default:
				cfg := out.PublicAccessBlockConfiguration
				cur = &Settings{aws.ToBool(cfg.BlockPublicAcls), aws.ToBool(cfg.IgnorePublicAcls), aws.ToBool(cfg.BlockPublicPolicy), aws.ToBool(cfg.RestrictPublicBuckets)}
				p.Existed, p.Settings = true, cur
			}
			all := Settings{true, true, true, true}
			earlier, err := awsstep.Earlier(req, &p)
			switch {
			case err != nil:
				return action.Failed(err, false)
			case cur != nil && cur.all() && earlier:
				return awsstep.Result(p, map[string]any{"bucket": b, "public_access_block": all}) // by the earlier attempt
			case cur != nil && cur.all():
				return action.Skipped(b + " already blocks public access (all four settings on)")
			}
			if err := awsstep.Checkpoint(ctx, req, p); err != nil {
				return action.Failed(err, true)
			}
			if _, err := c.PutPublicAccessBlock(ctx, &sdk.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: all.sdk()}); err != nil {
				return awsstep.Fail(err, "block public access of %s", b)
			}
			return awsstep.Result(p, map[string]any{"bucket": b, "public_access_block": all})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p prior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			c, err := env.S3(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			if p.Existed && p.Settings != nil {
				_, err = c.PutPublicAccessBlock(ctx, &sdk.PutPublicAccessBlockInput{Bucket: aws.String(p.Bucket), PublicAccessBlockConfiguration: p.Settings.sdk()})
			} else {
				_, err = c.DeletePublicAccessBlock(ctx, &sdk.DeletePublicAccessBlockInput{Bucket: aws.String(p.Bucket)})
			}
			if err != nil {
				return awsstep.Fail(err, "restore the public access block of %s", p.Bucket)
			}
			return action.Done(p)
		},
	}
}
