// Package finding is reflex's model of an Amazon GuardDuty finding.
//
// It reads findings however they arrive — an EventBridge event
// ("source": "aws.guardduty", "detail-type": "GuardDuty Finding"), a bare
// finding object (the event's detail, an S3 export line), GetFindings output
// ({"findings": […]} on the wire, {"Findings": […]} from the AWS CLI, whose
// PascalCase keys are normalised to the wire's camelCase), a JSON array of any
// of these, or a stream of them (JSON Lines or concatenated JSON) — and gives a
// typed view of the fields reflex needs while keeping the finding's raw JSON
// byte for byte, so nothing GuardDuty sent is lost.
//
// On top of the typed view it derives what decisions are made from: the
// severity band, the parts of the finding type name, whether the finding is a
// sample, its identity and version (account, region, id, updatedAt, count) and
// the principal resources it names (instance, access key and user or role,
// buckets, clusters …).
//
// Bad input never panics: every error names the input and the line:column
// where the problem is, a bad record in a stream is reported and the stream
// goes on, and memory stays bounded by the size and nesting limits of a single
// record (see Limits).
//
// The package depends on the standard library only.
package finding
