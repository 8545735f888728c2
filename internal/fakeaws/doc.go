// Package fakeaws is reflex's test cloud: a stateful, wire-level emulator of
// the AWS APIs reflex calls, with fault injection and a call log.
//
// It speaks AWS's own wire protocols (EC2 query; AWS query for IAM, STS, SNS,
// Auto Scaling and ELBv2; JSON 1.0/1.1 for SQS, EventBridge, SSM, CloudWatch
// Logs and DynamoDB's table API; REST-JSON for GuardDuty, Security Hub and
// Lambda; REST-XML for S3), so the real aws-sdk-go-v2
// clients, the AWS CLI or any SDK pointed at it with AWS_ENDPOINT_URL work
// unchanged. One http.Handler serves every service: requests are routed by
// the service name in the SigV4 Authorization header's credential scope, the
// account comes from the access key id and the region from the scope.
//
// Signatures are not verified cryptographically: this is a test cloud whose
// credentials are published in scenario files, so checking them would prove
// nothing. The header is still required and the key must be known (or an
// active IAM user key, or an unexpired AssumeRole key); otherwise the request
// fails with the protocol's InvalidClientTokenId / UnrecognizedClientException
// error, as against AWS.
//
// Everything hangs off a *Cloud value; there is no global mutable state.
//
//	cloud := fakeaws.New()
//	if err := cloud.LoadScenarioFile("testdata/scenario.yaml"); err != nil { ... }
//	srv := fakeaws.NewTestServer(t, cloud)        // httptest server, stopped by t.Cleanup
//	ec2c := ec2.NewFromConfig(srv.Config("111111111111"))
//	cloud.InjectFault(fakeaws.Fault{Service: "ec2", Operation: "StopInstances", Nth: 1, Code: "RequestLimitExceeded"})
//	calls := cloud.Calls()
//
// What is emulated, and the AWS rules kept, are listed per service in the
// files named for them (ec2.go, iam.go, …). Known simplifications: identity
// policies are not evaluated (any known principal may call anything in its
// own account; only AssumeRole trust policies and external ids are checked),
// and asynchronous AWS work (snapshots, instance stops) completes at once.
package fakeaws
