// Package notify tells people what reflex did about a finding.
//
// The engine fills an Event — the finding (title, type, severity band,
// account, region, resource, first/last seen, count), the decision (rule,
// mode, reason), every step with its honest status (done, skipped and why,
// failed with the error, waiting for approval, planned) and how to release —
// and hands it to a Dispatcher. The Dispatcher never blocks the caller: it
// queues the event (bounded), routes it to channels by rule, severity band,
// account and region, and runs it through small stages, one file each:
//
//	route.go          which channels get the event
//	repeat_stage.go   an unchanged re-sent finding is not announced again within repeat_interval
//	group_stage.go    a burst of events with the same group key within a window → one Notification with a count
//	ratelimit_stage.go at most N messages per period per channel; the excess is merged, never lost
//	retry_stage.go    retries with backoff for retryable failures (429 honouring Retry-After, 5xx)
//
// Each channel lives in a package of its own (notify/sns, notify/slack,
// notify/teams, notify/pagerduty, notify/webhook) and implements the one-method
// Notifier contract, whose error says whether it is worth retrying. Channel
// packages depend on this package only; notify/channels builds them from the
// configuration.
//
// Every string that comes from a finding is untrusted: channels escape it for
// their markup (Slack mrkdwn, Adaptive Card Markdown, JSON), console links are
// built from validated identifiers only, and user templates render over data
// already escaped for the channel. Secrets (webhook URLs, tokens, keys) are
// references (env:, ssm:, secretsmanager:) resolved when first needed; the
// Secret type prints as [redacted] and HTTP errors never carry a URL.
//
// The outcome of each delivery (delivered, failed with the error, dropped
// because the queue was full) is reported to a callback so the engine can
// record it in the ledger. A failed notification never blocks or undoes a
// containment.
package notify
