package fakeaws

import (
	"slices"
	"time"
)

// Call is one request the cloud received, as the call log records it.
type Call struct {
	Service   string // the SigV4 signing name: ec2, iam, sts, sqs, s3, …
	Operation string // the API operation, e.g. ModifyInstanceAttribute
	Account   string
	Region    string
	Principal string // caller ARN
	// Params are the request parameters, flattened: query-protocol form keys
	// as sent ("GroupId.1", "InstanceIds.member.1"); JSON bodies with dotted
	// paths and 1-based list indexes ("FindingIds.1", "Workflow.Status");
	// REST path labels by name ("DetectorId", "Bucket").
	Params    map[string]string
	Start     time.Time
	End       time.Time
	Status    int    // HTTP status returned
	ErrorCode string // AWS error code, empty on success
	Fault     string // the injected fault, if any: "latency", "throttle", "error", "scripted"
}

// Calls returns a copy of the call log, oldest first.
func (c *Cloud) Calls() []Call {
	c.callMu.Lock()
	defer c.callMu.Unlock()
	return slices.Clone(c.calls)
}

// CallsTo returns the logged calls of one operation (service may be empty).
func (c *Cloud) CallsTo(service, operation string) []Call {
	var out []Call
	for _, cl := range c.Calls() {
		if (service == "" || cl.Service == service) && cl.Operation == operation {
			out = append(out, cl)
		}
	}
	return out
}

// ResetCalls empties the call log.
func (c *Cloud) ResetCalls() {
	c.callMu.Lock()
	c.calls = nil
	c.callMu.Unlock()
}

func (c *Cloud) logCall(cl Call) {
	c.callMu.Lock()
	c.calls = append(c.calls, cl)
	c.callMu.Unlock()
}
