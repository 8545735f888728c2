package intake_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/reflexsec/reflex/intake"
	"github.com/reflexsec/reflex/internal/fakeaws"
	"github.com/reflexsec/reflex/store"
)

const acct = "111111111111"

// loadN is the size of the load checks: REFLEX_LOAD_N (the check
// is 10000), else 2000, or 300 with -short.
func loadN(t testing.TB) int {
	if s := os.Getenv("REFLEX_LOAD_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if testing.Short() || raceEnabled {
		return 200
	}
	return 1000
}

// workload is n deliveries: distinct findings, with every 10th a
// duplicate of an earlier delivery and every 10th (+5) a re-send of an
// earlier finding with a higher count. It returns the bodies and the
// distinct finding ids.
func workload(n int) ([][]byte, map[string]bool) {
	ids := map[string]bool{}
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		switch {
		case i%10 == 9 && i > 0:
			out = append(out, event(fmt.Sprintf("load-%06d", i-6), 1)) // duplicate
		case i%10 == 4 && i > 10:
			out = append(out, event(fmt.Sprintf("load-%06d", i-11), 2)) // re-send, count 2
		default:
			id := fmt.Sprintf("load-%06d", i)
			ids[id] = true
			out = append(out, event(id, 1))
		}
	}
	// a re-send must follow its first delivery: ids referenced above exist
	return out, ids
}

func TestSQSConsumerLoad(t *testing.T) {
	srv := fakeaws.NewTestServer(t, nil)
	cfg := srv.Config(acct)
	client := sqs.NewFromConfig(cfg)
	ctx := t.Context()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("reflex-findings")})
	if err != nil {
		t.Fatal(err)
	}
	n := loadN(t)
	bodies, ids := workload(n)
	// also bad input: recorded and deleted
	bodies = append(bodies, []byte(`{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":`), []byte(`{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}`))
	for _, b := range bodies {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(string(b))}); err != nil {
			t.Fatal(err)
		}
	}
	p, led, dir := newProc(t)
	consumer := &intake.SQS{Proc: p, Client: client, QueueURL: *q.QueueUrl, Workers: 4, Wait: time.Second, Visibility: 30 * time.Second}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		consumer.Run(runCtx, context.Background())
		close(done)
	}()
	for {
		depth, _ := srv.Cloud.QueueDepth(acct, fakeaws.DefaultRegion, "reflex-findings")
		attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		if depth == 0 && attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		if time.Since(start) > max(10*time.Minute, time.Duration(n)*100*time.Millisecond) { // a hang, not a speed check
			t.Fatalf("queue not drained: %d left", depth)
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stop()
	<-done
	t.Logf("SQS: %d messages (%d distinct findings) in %v: %.0f messages/s", len(bodies), len(ids), elapsed, float64(len(bodies))/elapsed.Seconds())
	checkOnce(t, led, dir, ids)
	rej, _ := led.Events(ctx, store.Filter{Status: "intake.rejected"})
	if len(rej) != 2 {
		t.Errorf("%d rejections recorded, want 2", len(rej))
	}
}

func TestHTTPLoad(t *testing.T) {
	p, led, dir := newProc(t)
	h := &intake.HTTP{Proc: p, Auth: &intake.Auth{Keys: []string{testKey}}, ExecCtx: context.Background()}
	srv := newLoopback(t, h)
	bodies, ids := workload(loadN(t))
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan []byte)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if code := post(t, srv, b); code != 202 {
					t.Errorf("status %d", code)
				}
			}
		}()
	}
	for _, b := range bodies {
		work <- b
	}
	close(work)
	wg.Wait()
	p.Drain(t.Context())
	elapsed := time.Since(start)
	t.Logf("HTTP: %d posts (%d distinct findings) in %v: %.0f posts/s", len(bodies), len(ids), elapsed, float64(len(bodies))/elapsed.Seconds())
	checkOnce(t, led, dir, ids)
}

func TestPullGuardDuty(t *testing.T) {
	cloud := fakeaws.New()
	cloud.AddAccount(acct, "AKIAPULLTEST00000000", "pull-secret")
	srv := fakeaws.NewTestServer(t, cloud)
	cfg := srv.Config(acct)
	const n = 120
	ids := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("pull-%04d", i)
		ids[id] = true
		if _, err := srv.Cloud.AddFinding(acct, fakeaws.DefaultRegion, eventAt(id, 1, time.Date(2026, 3, 1, 0, i, 0, 0, time.UTC))); err != nil {
			t.Fatal(err)
		}
	}
	p, led, dir := newProc(t)
	poll := &intake.Poll{Proc: p, Regions: []string{fakeaws.DefaultRegion}, Client: func(region string) intake.GuardDutyAPI {
		return guardduty.NewFromConfig(cfg, func(o *guardduty.Options) { o.Region = region })
	}}
	st, err := poll.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Detectors != 1 || st.Findings != n || st.New != n || st.Rejected != 0 {
		t.Errorf("first pull: %+v", st)
	}
	if calls := len(srv.Cloud.CallsTo("guardduty", "GetFindings")); calls != 3 {
		t.Errorf("%d GetFindings calls for %d findings, want 3 (50 at a time)", calls, n)
	}
	// a re-run continues from the checkpoint: only findings at it come back
	st2, err := poll.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st2.New != 0 || st2.Findings != 1 || st2.Duplicate != 1 {
		t.Errorf("re-run read %+v: want only what sits at the checkpoint, nothing new", st2)
	}
	// --since later than everything: nothing
	poll.IgnoreCheckpoint, poll.Since = true, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if st3, err := poll.Run(t.Context()); err != nil || st3.Findings != 0 {
		t.Errorf("--since after every finding: %+v, %v", st3, err)
	}
	checkOnce(t, led, dir, ids)
}
