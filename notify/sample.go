package notify

import "time"

// SampleEvent is a realistic event for `reflex notify test` and template
// checks: an EC2 finding contained by a playbook, with a step of every status.
func SampleEvent(now time.Time) *Event {
	return &Event{
		Kind:       KindTest,
		DecisionID: "d-sample-0001",
		Rule:       "contain-tor-instances",
		Mode:       "enforce",
		Outcome:    "test",
		Reason:     "test message sent by `reflex notify test`: nothing was done",
		At:         now,
		Steps: []Step{
			{Name: "ec2.capture-metadata", Target: "i-99999999", Status: StepDone},
			{Name: "ec2.snapshot", Target: "i-99999999", Status: StepDone, Reason: "2 snapshots started"},
			{Name: "ec2.isolate", Target: "i-99999999", Status: StepFailed, Error: "UnauthorizedOperation: not authorized to perform ec2:ModifyNetworkInterfaceAttribute"},
			{Name: "ec2.stop", Target: "i-99999999", Status: StepSkipped, Reason: "a previous step on the resource failed"},
			{Name: "iam.revoke-sessions", Target: "role/app", Status: StepWaiting, Reason: "the role is shared: approve with `reflex approve d-sample-0001`"},
		},
		Release: "reflex release d-sample-0001",
		Finding: Finding{
			ID:       "60baffd3f9042e38640f2300d5c5a631",
			Title:    "[SAMPLE] EC2 instance i-99999999 is communicating with Tor entry nodes.",
			Type:     "UnauthorizedAccess:EC2/TorClient",
			Severity: 8, Band: "High",
			Account: "123456789012", Region: "us-east-1", Partition: "aws",
			Resource:  Resource{Kind: "ec2-instance", ID: "i-99999999", ARN: "arn:aws:ec2:us-east-1:123456789012:instance/i-99999999"},
			FirstSeen: now.Add(-2 * time.Hour), LastSeen: now.Add(-time.Minute), Count: 3,
			Sample: true,
		},
	}
}

// SampleNotification wraps SampleEvent in a notification.
func SampleNotification(now time.Time) *Notification {
	return &Notification{Channel: "test", Route: "test", Events: []*Event{SampleEvent(now)}, Total: 1, At: now}
}
