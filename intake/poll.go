package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/reflexsec/reflex/store"
)

// GuardDutyAPI is the part of the GuardDuty client the poller uses.
type GuardDutyAPI interface {
	ListDetectors(context.Context, *guardduty.ListDetectorsInput, ...func(*guardduty.Options)) (*guardduty.ListDetectorsOutput, error)
	ListFindings(context.Context, *guardduty.ListFindingsInput, ...func(*guardduty.Options)) (*guardduty.ListFindingsOutput, error)
	GetFindings(context.Context, *guardduty.GetFindingsInput, ...func(*guardduty.Options)) (*guardduty.GetFindingsOutput, error)
}

// Poll is `reflex pull`: findings from the GuardDuty API of every detector
// in every region, oldest update first, 50 at a time (ListFindings, then
// GetFindings), through the same decide/execute path as the other intakes.
// After each page it records a checkpoint (the last updatedAt handled) in
// the ledger's audit trail, so a re-run continues where it stopped.
type Poll struct {
	Proc    *Processor
	Regions []string
	Client  func(region string) GuardDutyAPI
	// Since is the earliest updatedAt to read when there is no later
	// checkpoint (zero: everything).
	Since time.Time
	// IgnoreCheckpoint reads from Since whatever the checkpoint says.
	IgnoreCheckpoint bool
	// MinSeverity filters on severity (0: all).
	MinSeverity float64
	// Progress is called after each page.
	Progress func(region, detector string, done int)
}

// PollStats is what a pull did.
type PollStats struct {
	Detectors int `json:"detectors"`
	Findings  int `json:"findings"`
	New       int `json:"new"`
	Updated   int `json:"updated"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
}

// CheckpointKind is the audit-event kind of pull checkpoints.
const CheckpointKind = "pull.checkpoint"

func checkpointKey(region, detector string) string { return "pull:" + region + "/" + detector }

type checkpoint struct {
	UpdatedAt time.Time `json:"updated_at"`
}

// Checkpoint returns the last updatedAt handled for a detector (zero when none).
func (p *Poll) Checkpoint(ctx context.Context, region, detector string) (time.Time, error) {
	evs, err := p.Proc.Engine.Ledger.Events(ctx, store.Filter{FindingKey: checkpointKey(region, detector), Status: CheckpointKind})
	if err != nil || len(evs) == 0 {
		return time.Time{}, err
	}
	var c checkpoint
	if err := json.Unmarshal(evs[len(evs)-1].Data, &c); err != nil {
		return time.Time{}, fmt.Errorf("checkpoint of %s/%s: %w", region, detector, err)
	}
	return c.UpdatedAt, nil
}

// Run pulls every region and detector.
func (p *Poll) Run(ctx context.Context) (PollStats, error) {
	var st PollStats
	for _, region := range p.Regions {
		c := p.Client(region)
		var dets []string
		var token *string
		for {
			out, err := c.ListDetectors(ctx, &guardduty.ListDetectorsInput{NextToken: token})
			if err != nil {
				return st, fmt.Errorf("%s: list detectors: %w", region, err)
			}
			dets = append(dets, out.DetectorIds...)
			if aws.ToString(out.NextToken) == "" {
				break
			}
			token = out.NextToken
		}
		for _, d := range dets {
			st.Detectors++
			if err := p.detector(ctx, c, region, d, &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

func (p *Poll) detector(ctx context.Context, c GuardDutyAPI, region, det string, st *PollStats) error {
	from := p.Since
	if !p.IgnoreCheckpoint {
		cp, err := p.Checkpoint(ctx, region, det)
		if err != nil {
			return err
		}
		if cp.After(from) {
			from = cp // inclusive: findings at the checkpoint come back as duplicates
		}
	}
	crit := map[string]gdtypes.Condition{}
	if !from.IsZero() {
		crit["updatedAt"] = gdtypes.Condition{GreaterThanOrEqual: aws.Int64(from.UnixMilli())}
	}
	if p.MinSeverity > 0 {
		crit["severity"] = gdtypes.Condition{GreaterThanOrEqual: aws.Int64(int64(p.MinSeverity))}
	}
	in := &guardduty.ListFindingsInput{DetectorId: aws.String(det), MaxResults: aws.Int32(50),
		SortCriteria: &gdtypes.SortCriteria{AttributeName: aws.String("updatedAt"), OrderBy: gdtypes.OrderByAsc}}
	if len(crit) > 0 {
		in.FindingCriteria = &gdtypes.FindingCriteria{Criterion: crit}
	}
	done := 0
	for {
		out, err := c.ListFindings(ctx, in)
		if err != nil {
			return fmt.Errorf("%s/%s: list findings: %w", region, det, err)
		}
		if len(out.FindingIds) > 0 {
			last, err := p.page(ctx, c, region, det, out.FindingIds, st)
			if err != nil {
				return err
			}
			done += len(out.FindingIds)
			if !last.IsZero() {
				data, _ := json.Marshal(checkpoint{UpdatedAt: last})
				if err := p.Proc.Engine.Ledger.Append(ctx, &store.Event{At: time.Now().UTC(), Kind: CheckpointKind, FindingKey: checkpointKey(region, det),
					Actor: "pull", Message: "pulled up to updatedAt " + last.Format(time.RFC3339Nano), Data: data}); err != nil {
					return err
				}
			}
			if p.Progress != nil {
				p.Progress(region, det, done)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// page gets up to 50 findings and handles them; it returns the latest
// updatedAt among them.
func (p *Poll) page(ctx context.Context, c GuardDutyAPI, region, det string, ids []string, st *PollStats) (time.Time, error) {
	out, err := c.GetFindings(ctx, &guardduty.GetFindingsInput{DetectorId: aws.String(det), FindingIds: ids})
	if err != nil {
		return time.Time{}, fmt.Errorf("%s/%s: get findings: %w", region, det, err)
	}
	var last time.Time
	for _, f := range out.Findings {
		raw, err := json.Marshal(map[string]any{"Findings": []gdtypes.Finding{f}})
		if err != nil {
			return last, err
		}
		if t, err := time.Parse(time.RFC3339Nano, aws.ToString(f.UpdatedAt)); err == nil && t.After(last) {
			last = t
		} else if ms, err := strconv.ParseInt(aws.ToString(f.UpdatedAt), 10, 64); err == nil && time.UnixMilli(ms).After(last) {
			last = time.UnixMilli(ms)
		}
		st.Findings++
		fs, derr := Decode("pull:"+region+"/"+aws.ToString(f.Id), raw)
		if derr != nil {
			st.Rejected++
			if err := p.Proc.Reject(ctx, "pull", raw, derr); err != nil {
				return last, err
			}
			continue
		}
		rs, err := p.Proc.Handle(ctx, "pull", fs)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) {
				return last, err
			}
		}
		for _, r := range rs {
			switch r.Change {
			case store.New:
				st.New++
			case store.Updated:
				st.Updated++
			default:
				st.Duplicate++
			}
		}
	}
	return last, nil
}
