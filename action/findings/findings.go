// Package findings closes the loop on the finding itself: archive it in
// GuardDuty, give GuardDuty feedback, set its Security Hub workflow status
// with a note saying what reflex did.
package findings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	gd "github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	sh "github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/reflexsec/reflex/action"
	"github.com/reflexsec/reflex/action/internal/awsstep"
)

// Steps returns the finding steps.
func Steps() []action.Step { return []action.Step{archive(), feedback(), hubUpdate(), updateStep()} }

func detector(ctx context.Context, c *gd.Client) (string, error) {
	out, err := c.ListDetectors(ctx, &gd.ListDetectorsInput{})
	if err != nil {
		return "", err
	}
	if len(out.DetectorIds) == 0 {
		return "", errors.New("GuardDuty has no detector in this account and region")
	}
	return out.DetectorIds[0], nil
}

type archivePrior struct {
	Detector string `json:"detector"`
	Archived bool   `json:"was_archived"`
}

func archive() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "guardduty.archive", Effect: action.Reversible,
			Description: "Archive the finding in GuardDuty (release unarchives it, unless it was archived before).",
			Example:     "- step: guardduty.archive",
			IAMActions:  []string{"guardduty:ListDetectors", "guardduty:GetFindings", "guardduty:ArchiveFindings", "guardduty:UnarchiveFindings"}},
		PlanFn: func(req *action.Request) []action.Call {
			return []action.Call{{Service: "guardduty", Action: "ListDetectors"}, {Service: "guardduty", Action: "GetFindings", Target: req.Finding.ID},
				{Service: "guardduty", Action: "ArchiveFindings", Target: req.Finding.ID, Note: "unless archived"}}
		},
		TargetID: func(req *action.Request) string { return req.Finding.ID },
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			c, err := env.GuardDuty(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			det, err := detector(ctx, c)
			if err != nil {
				return awsstep.Fail(err, "find the GuardDuty detector")
			}
			out, err := c.GetFindings(ctx, &gd.GetFindingsInput{DetectorId: aws.String(det), FindingIds: []string{req.Finding.ID}})
			if err != nil {
				return awsstep.Fail(err, "read finding %s", req.Finding.ID)
			}
			if len(out.Findings) == 0 {
				return action.Skipped("finding " + req.Finding.ID + " is not in GuardDuty (detector " + det + ")")
			}
			p := archivePrior{Detector: det}
			earlier, err := awsstep.Earlier(req, &p)
			if err != nil {
				return action.Failed(err, false)
			}
			if f := out.Findings[0]; f.Service != nil && aws.ToBool(f.Service.Archived) {
				if earlier {
					return awsstep.Result(p, map[string]string{"archived": req.Finding.ID}) // by the earlier attempt
				}
				return action.Skipped("finding " + req.Finding.ID + " is already archived")
			}
			if err := awsstep.Checkpoint(ctx, req, p); err != nil {
				return action.Failed(err, true)
			}
			if _, err := c.ArchiveFindings(ctx, &gd.ArchiveFindingsInput{DetectorId: aws.String(p.Detector), FindingIds: []string{req.Finding.ID}}); err != nil {
				return awsstep.Fail(err, "archive finding %s", req.Finding.ID)
			}
			return awsstep.Result(p, map[string]string{"archived": req.Finding.ID})
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p archivePrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			if p.Archived {
				return action.Skipped("the finding was archived before reflex: left archived")
			}
			c, err := env.GuardDuty(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			if _, err := c.UnarchiveFindings(ctx, &gd.UnarchiveFindingsInput{DetectorId: aws.String(p.Detector), FindingIds: []string{req.Finding.ID}}); err != nil {
				return awsstep.Fail(err, "unarchive finding %s", req.Finding.ID)
			}
			return action.Done(map[string]string{"unarchived": req.Finding.ID})
		},
	}
}

func feedback() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "guardduty.feedback", Effect: action.ReadOnly,
			Description: "Give GuardDuty feedback on the finding (USEFUL or NOT_USEFUL). Feedback cannot be withdrawn, only changed.",
			Params: []action.Param{
				{Name: "feedback", Type: action.TypeString, Default: "USEFUL", Enum: []string{"USEFUL", "NOT_USEFUL"}, Description: "the feedback"},
				{Name: "comments", Type: action.TypeString, Default: "", Description: "a comment sent with it"},
			},
			Example:    "- step: guardduty.feedback\n  params: {feedback: USEFUL}",
			IAMActions: []string{"guardduty:ListDetectors", "guardduty:UpdateFindingsFeedback"}},
		PlanFn: func(req *action.Request) []action.Call {
			return []action.Call{{Service: "guardduty", Action: "ListDetectors"},
				{Service: "guardduty", Action: "UpdateFindingsFeedback", Target: req.Finding.ID, Input: map[string]any{"Feedback": req.Params.String("feedback")}}}
		},
		TargetID: func(req *action.Request) string { return req.Finding.ID },
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			c, err := env.GuardDuty(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			det, err := detector(ctx, c)
			if err != nil {
				return awsstep.Fail(err, "find the GuardDuty detector")
			}
			in := &gd.UpdateFindingsFeedbackInput{DetectorId: aws.String(det), FindingIds: []string{req.Finding.ID}, Feedback: gdtypes.Feedback(req.Params.String("feedback"))}
			if cm := req.Params.String("comments"); cm != "" {
				in.Comments = aws.String(cm)
			}
			if _, err := c.UpdateFindingsFeedback(ctx, in); err != nil {
				return awsstep.Fail(err, "give feedback on finding %s", req.Finding.ID)
			}
			return action.Done(map[string]string{"feedback": req.Params.String("feedback")})
		},
		UndoFn: func(context.Context, awsstep.Env, *action.Request) action.Result {
			return action.Skipped("feedback cannot be withdrawn")
		},
	}
}

// hubPrior is the finding's Security Hub workflow status and note before
// securityhub.update changed them.
type hubPrior struct {
	ProductARN string `json:"product_arn"`
	ID         string `json:"id"`
	Status     string `json:"status"`
	// Note is the note before ("" with HadNote false: there was none).
	Note    string `json:"note,omitempty"`
	NoteBy  string `json:"note_updated_by,omitempty"`
	HadNote bool   `json:"had_note,omitempty"`
}

func hubID(req *action.Request) (product, id string) {
	f := req.Finding
	part := f.Partition
	if part == "" {
		part = "aws"
	}
	return fmt.Sprintf("arn:%s:securityhub:%s::product/aws/guardduty", part, f.Region), f.ARN
}

// releaseNote is written on release when the finding had no note before:
// Security Hub has no call that removes a note.
const releaseNote = "reflex released its containment for this finding"

func hubUpdate() action.Step {
	return &awsstep.Step{
		Def: action.Spec{Name: "securityhub.update", Effect: action.Reversible,
			Description: "Set the finding's Security Hub workflow status and add a note saying what reflex did, recording the status and note before. " +
				"Release puts both back (a finding that had no note gets a note saying reflex released it: Security Hub cannot remove a note).",
			Params: []action.Param{
				{Name: "workflow", Type: action.TypeString, Default: "NOTIFIED", Enum: []string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}, Description: "the workflow status to set"},
				{Name: "note", Type: action.TypeString, Default: "", Description: "the note (default: what reflex did and where to read it)"},
			},
			Example:    "- step: securityhub.update\n  params: {workflow: NOTIFIED}",
			IAMActions: []string{"securityhub:GetFindings", "securityhub:BatchUpdateFindings"}},
		PlanFn: func(req *action.Request) []action.Call {
			p, id := hubID(req)
			return []action.Call{{Service: "securityhub", Action: "GetFindings", Target: id,
				Input: map[string]any{"Filters": map[string]any{"Id": id, "ProductArn": p}}, Note: "the workflow status and note before"},
				{Service: "securityhub", Action: "BatchUpdateFindings", Target: id,
					Input: map[string]any{"ProductArn": p, "Workflow": map[string]any{"Status": req.Params.String("workflow")}, "Note": note(req)}}}
		},
		TargetID: func(req *action.Request) string { return req.Finding.ID },
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			product, id := hubID(req)
			if id == "" {
				return action.Skipped("the finding has no ARN: it cannot be named in Security Hub")
			}
			c, err := env.SecurityHub(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			p := hubPrior{ProductARN: product, ID: id}
			earlier, err := awsstep.Earlier(req, &p)
			if err != nil {
				return action.Failed(err, false)
			}
			cur, err := hubFinding(ctx, c, product, id)
			switch {
			case err != nil:
				return awsstep.Fail(err, "read finding %s in Security Hub", id)
			case cur == nil:
				return action.Skipped("the finding is not in Security Hub (is the GuardDuty integration enabled?)")
			}
			status, text := "", ""
			if cur.Workflow != nil {
				status = string(cur.Workflow.Status)
			}
			if cur.Note != nil {
				text = aws.ToString(cur.Note.Text)
			}
			want, wantText := req.Params.String("workflow"), clip(note(req), 512)
			if earlier && status == want && text == wantText && aws.ToString(cur.Note.UpdatedBy) == "reflex" {
				// the earlier attempt's update landed
				return awsstep.Result(p, map[string]string{"workflow": want, "note": wantText})
			}
			if !earlier {
				p.Status = status
				if p.Status == "" {
					p.Status = string(shtypes.WorkflowStatusNew)
				}
				if cur.Note != nil {
					p.HadNote, p.Note, p.NoteBy = true, text, aws.ToString(cur.Note.UpdatedBy)
				}
				if err := awsstep.Checkpoint(ctx, req, p); err != nil {
					return action.Failed(err, true)
				}
			}
			res := update(ctx, c, product, id, want, wantText, "reflex")
			if res.Status != action.StatusDone {
				return res
			}
			res.Prior = mustJSON(p)
			return res
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p hubPrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			c, err := env.SecurityHub(ctx, env.Account, env.Region)
			if err != nil {
				return action.Failed(err, false)
			}
			text, by := p.Note, p.NoteBy
			if !p.HadNote {
				text, by = releaseNote, "reflex"
			}
			res := update(ctx, c, p.ProductARN, p.ID, p.Status, text, by)
			if res.Status == action.StatusDone && !p.HadNote {
				res.Output = mustJSON(map[string]string{"workflow": p.Status,
					"note": "workflow status restored; the finding had no note before, and Security Hub cannot remove one: reflex's release note replaces it"})
			}
			return res
		},
	}
}

// hubFinding reads the finding (nil when Security Hub does not have it).
func hubFinding(ctx context.Context, c *sh.Client, product, id string) (*shtypes.AwsSecurityFinding, error) {
	out, err := c.GetFindings(ctx, &sh.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		Id:         []shtypes.StringFilter{{Comparison: shtypes.StringFilterComparisonEquals, Value: aws.String(id)}},
		ProductArn: []shtypes.StringFilter{{Comparison: shtypes.StringFilterComparisonEquals, Value: aws.String(product)}},
	}, MaxResults: aws.Int32(1)})
	if err != nil {
		return nil, err
	}
	if len(out.Findings) == 0 {
		return nil, nil
	}
	return &out.Findings[0], nil
}

func note(req *action.Request) string {
	if n := req.Params.String("note"); n != "" {
		return n
	}
	return fmt.Sprintf("reflex acted on this finding (%s); every step and its result: reflex history --finding %s", req.Finding.Type, req.Finding.Key())
}

func update(ctx context.Context, c *sh.Client, product, id, status, text, by string) action.Result {
	out, err := c.BatchUpdateFindings(ctx, &sh.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String(id), ProductArn: aws.String(product)}},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatus(status)},
		Note:               &shtypes.NoteUpdate{Text: aws.String(clip(text, 512)), UpdatedBy: aws.String(clip(by, 512))},
	})
	if err != nil {
		return awsstep.Fail(err, "update finding %s in Security Hub", id)
	}
	if len(out.UnprocessedFindings) > 0 {
		u := out.UnprocessedFindings[0]
		if aws.ToString(u.ErrorCode) == "FindingNotFound" {
			return action.Skipped("the finding is not in Security Hub (is the GuardDuty integration enabled?)")
		}
		return action.Failed(fmt.Errorf("security hub: %s: %s", aws.ToString(u.ErrorCode), aws.ToString(u.ErrorMessage)), false)
	}
	return action.Done(map[string]string{"workflow": status, "note": text})
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type updatePrior struct {
	Archive *archivePrior `json:"archive,omitempty"`
	Hub     *hubPrior     `json:"securityhub,omitempty"`
}

// update is findings.update: archive and/or the Security Hub workflow and
// note, in one step.
func updateStep() action.Step {
	arch, hub := archive().(*awsstep.Step), hubUpdate().(*awsstep.Step)
	return &awsstep.Step{
		Def: action.Spec{Name: "findings.update", Effect: action.Reversible,
			Description: "Close the loop on the finding: archive it in GuardDuty (archive: true) and/or set its Security Hub workflow status with a note " +
				"(workflow, note). Release unarchives it and puts the workflow status and note back as they were.",
			Params: []action.Param{
				{Name: "archive", Type: action.TypeBool, Default: false, Description: "archive the GuardDuty finding"},
				{Name: "workflow", Type: action.TypeString, Enum: []string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}, Description: "Security Hub workflow status to set"},
				{Name: "note", Type: action.TypeString, Description: "note added to the finding"},
			},
			Example:    "- step: findings.update\n  params: {archive: true, workflow: NOTIFIED}",
			IAMActions: append(append([]string{}, arch.Def.IAMActions...), hub.Def.IAMActions...)},
		PlanFn: func(req *action.Request) []action.Call {
			var calls []action.Call
			if req.Params.Bool("archive") {
				calls = append(calls, arch.PlanFn(req)...)
			}
			if req.Params.String("workflow") != "" || req.Params.String("note") != "" {
				calls = append(calls, hub.PlanFn(hubReq(req))...)
			}
			return calls
		},
		TargetID: func(req *action.Request) string { return req.Finding.ID },
		DoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p updatePrior
			if _, err := awsstep.Earlier(req, &p); err != nil {
				return action.Failed(err, false)
			}
			// each part sees its own part of an earlier attempt's checkpoint,
			// and checkpoints into the step's whole prior state
			var mu sync.Mutex
			part := func(r *action.Request, earlier any, set func(json.RawMessage)) *action.Request {
				sub := *r
				sub.Prior = nil
				if earlier != nil {
					sub.Prior = mustJSON(earlier)
				}
				if req.Checkpoint != nil {
					sub.Checkpoint = func(ctx context.Context, b json.RawMessage) error {
						mu.Lock()
						defer mu.Unlock()
						set(b)
						return awsstep.Checkpoint(ctx, req, p)
					}
				}
				return &sub
			}
			out := map[string]any{}
			var reasons []string
			if req.Params.Bool("archive") {
				var earlier any
				if p.Archive != nil {
					earlier = p.Archive
				}
				r := arch.DoFn(ctx, env, part(req, earlier, func(b json.RawMessage) {
					p.Archive = &archivePrior{}
					_ = json.Unmarshal(b, p.Archive)
				}))
				if r.Status == action.StatusFailed {
					return r
				}
				if r.Status == action.StatusDone {
					p.Archive = &archivePrior{}
					_ = json.Unmarshal(r.Prior, p.Archive)
					out["archived"] = req.Finding.ID
				} else {
					reasons = append(reasons, r.Reason)
				}
			}
			if req.Params.String("workflow") != "" || req.Params.String("note") != "" {
				var earlier any
				if p.Hub != nil {
					earlier = p.Hub
				}
				r := hub.DoFn(ctx, env, part(hubReq(req), earlier, func(b json.RawMessage) {
					p.Hub = &hubPrior{}
					_ = json.Unmarshal(b, p.Hub)
				}))
				if r.Status == action.StatusFailed {
					return r
				}
				if r.Status == action.StatusDone {
					p.Hub = &hubPrior{}
					_ = json.Unmarshal(r.Prior, p.Hub)
					out["securityhub"] = json.RawMessage(r.Output)
				} else {
					reasons = append(reasons, r.Reason)
				}
			}
			if p.Archive == nil && p.Hub == nil {
				if len(reasons) == 0 {
					reasons = append(reasons, "neither archive nor workflow nor note asked for")
				}
				return action.Skipped(strings.Join(reasons, "; "))
			}
			return awsstep.Result(p, out)
		},
		UndoFn: func(ctx context.Context, env awsstep.Env, req *action.Request) action.Result {
			var p updatePrior
			if err := awsstep.Unmarshal(req, &p); err != nil {
				return action.Failed(err, false)
			}
			if p.Hub != nil {
				r := *req
				r.Prior = mustJSON(p.Hub)
				if res := hub.UndoFn(ctx, env, &r); res.Status == action.StatusFailed {
					return res
				}
			}
			if p.Archive != nil {
				r := *req
				r.Prior = mustJSON(p.Archive)
				if res := arch.UndoFn(ctx, env, &r); res.Status == action.StatusFailed {
					return res
				}
			}
			return action.Done(p)
		},
	}
}

// hubReq gives securityhub.update its default workflow when only a note is asked for.
func hubReq(req *action.Request) *action.Request {
	r := *req
	r.Params = action.Params{"workflow": req.Params.String("workflow"), "note": req.Params.String("note")}
	if r.Params.String("workflow") == "" {
		r.Params["workflow"] = "NOTIFIED"
	}
	return &r
}
