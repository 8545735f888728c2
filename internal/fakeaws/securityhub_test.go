package fakeaws_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

// TestSecurityHubGetFindings: GetFindings filters as the API reference's
// StringFilter says (positive comparisons on a field joined by OR, negative
// ones by AND, fields by AND), refuses the combinations the API refuses and
// pages with MaxResults and NextToken; what BatchUpdateFindings changed is
// what it answers.
func TestSecurityHubGetFindings(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := securityhub.NewFromConfig(srv.Config(prod))
	gd := "arn:aws:securityhub:us-east-1::product/aws/guardduty"
	own := "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"
	now := time.Now().UTC().Format(time.RFC3339)
	var fs []shtypes.AwsSecurityFinding
	for i, p := range []struct{ id, product, typ string }{
		{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a1", gd, "TTPs/Command and Control"},
		{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a2", gd, "TTPs/Initial Access"},
		{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/b1", gd, "Software and Configuration Checks"},
		{"a1", own, "TTPs/Command and Control"},
	} {
		fs = append(fs, shtypes.AwsSecurityFinding{SchemaVersion: aws.String("2018-10-08"), Id: aws.String(p.id), ProductArn: aws.String(p.product),
			GeneratorId: aws.String(fmt.Sprint("gen-", i)), AwsAccountId: aws.String(prod), CreatedAt: aws.String(now), UpdatedAt: aws.String(now),
			Severity: &shtypes.Severity{Label: shtypes.SeverityLabelHigh}, Title: aws.String("t"), Description: aws.String("d"),
			Types: []string{p.typ}, Resources: []shtypes.Resource{{Type: aws.String("AwsEc2Instance"), Id: aws.String(web1)}}})
	}
	if _, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: fs}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: fs[1].Id, ProductArn: aws.String(gd)}},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified},
		Note:               &shtypes.NoteUpdate{Text: aws.String("seen"), UpdatedBy: aws.String("analyst")}}); err != nil {
		t.Fatal(err)
	}
	sf := func(cmp shtypes.StringFilterComparison, v string) []shtypes.StringFilter {
		return []shtypes.StringFilter{{Comparison: cmp, Value: aws.String(v)}}
	}
	join := func(a ...[]shtypes.StringFilter) []shtypes.StringFilter { return slices.Concat(a...) }
	for _, tc := range []struct {
		name    string
		filters *shtypes.AwsSecurityFindingFilters
		want    []string // ids, in import order
	}{
		{"no filter", nil, []string{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a1",
			"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a2", "arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/b1", "a1"}},
		{"Id and ProductArn", &shtypes.AwsSecurityFindingFilters{Id: sf("EQUALS", "a1"), ProductArn: sf("EQUALS", own)}, []string{"a1"}},
		{"the same Id, another product", &shtypes.AwsSecurityFindingFilters{Id: sf("EQUALS", "a1"), ProductArn: sf("EQUALS", gd)}, nil},
		{"EQUALS or EQUALS", &shtypes.AwsSecurityFindingFilters{Id: join(sf("EQUALS", "a1"),
			sf("EQUALS", "arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/b1"))},
			[]string{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/b1", "a1"}},
		{"PREFIX then NOT_EQUALS", &shtypes.AwsSecurityFindingFilters{Id: join(sf("PREFIX", "arn:aws:guardduty:"),
			sf("NOT_EQUALS", "arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a2"))},
			[]string{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a1", "arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/b1"}},
		{"PREFIX_NOT_EQUALS and NOT_EQUALS", &shtypes.AwsSecurityFindingFilters{Id: join(sf("PREFIX_NOT_EQUALS", "arn:"), sf("NOT_EQUALS", "x"))}, []string{"a1"}},
		{"CONTAINS on a list field", &shtypes.AwsSecurityFindingFilters{Type: sf("CONTAINS", "Initial")},
			[]string{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a2"}},
		{"workflow status after an update", &shtypes.AwsSecurityFindingFilters{WorkflowStatus: sf("EQUALS", "NOTIFIED")},
			[]string{"arn:aws:guardduty:us-east-1:111111111111:detector/d/finding/a2"}},
		{"NOT_CONTAINS", &shtypes.AwsSecurityFindingFilters{ProductArn: sf("NOT_CONTAINS", "guardduty")}, []string{"a1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range out.Findings {
				got = append(got, aws.ToString(f.Id))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}

	// what an update wrote comes back
	out, err := c.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{Id: sf("EQUALS", aws.ToString(fs[1].Id)), ProductArn: sf("EQUALS", gd)}})
	if err != nil || len(out.Findings) != 1 {
		t.Fatalf("%v %v", out, err)
	}
	if f := out.Findings[0]; f.Workflow == nil || f.Workflow.Status != shtypes.WorkflowStatusNotified || f.Note == nil ||
		aws.ToString(f.Note.Text) != "seen" || aws.ToString(f.Note.UpdatedBy) != "analyst" {
		t.Errorf("after the update: %+v %+v", f.Workflow, f.Note)
	}

	// pages
	var ids []string
	p := securityhub.NewGetFindingsPaginator(c, &securityhub.GetFindingsInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Findings) > 3 {
			t.Fatalf("page of %d", len(page.Findings))
		}
		for _, f := range page.Findings {
			ids = append(ids, aws.ToString(f.Id))
		}
	}
	if len(ids) != 4 {
		t.Errorf("paged: %v", ids)
	}

	// refused
	for name, in := range map[string]*securityhub.GetFindingsInput{
		"EQUALS with NOT_EQUALS":   {Filters: &shtypes.AwsSecurityFindingFilters{Id: join(sf("EQUALS", "a"), sf("NOT_EQUALS", "b"))}},
		"CONTAINS with PREFIX":     {Filters: &shtypes.AwsSecurityFindingFilters{Id: join(sf("CONTAINS", "a"), sf("PREFIX", "b"))}},
		"NOT_CONTAINS with EQUALS": {Filters: &shtypes.AwsSecurityFindingFilters{Id: join(sf("NOT_CONTAINS", "a"), sf("EQUALS", "b"))}},
		"MaxResults out of range":  {MaxResults: aws.Int32(101)},
		"bad token":                {NextToken: aws.String("nope")},
	} {
		_, err := c.GetFindings(ctx, in)
		var iie *shtypes.InvalidInputException
		if !errors.As(err, &iie) {
			t.Errorf("%s: %v, want InvalidInputException", name, err)
		}
	}
}
