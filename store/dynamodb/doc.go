// Package dynamodb is the ledger on Amazon DynamoDB: store.Ledger for
// Lambda functions and for several machines sharing one ledger.
//
// # Table design
//
// One table, created by EnsureTable (or by Terraform with the same shape),
// billed on demand:
//
//	key           pk (S, partition), sk (S, sort)
//	GSI "work"    wk (S), wt (S)   sparse: decisions that still need work, pending intents
//	GSI "list"    lk (S), lt (S)   sparse: listings for `reflex history`
//	TTL           ttl (N, epoch seconds)
//
// Items:
//
//	pk                        sk                 holds
//	F#<account/region/id>     F                  the latest recorded version of a finding (raw JSON
//	                                             included), its revision, the id of its latest
//	                                             decision and, while a Record is in flight, its intent
//	D#<decision id>           D                  a decision: status, mode, plan, the keys of its
//	                                             steps, the approval when one was given
//	S#<step key>              S                  a journal entry (state, attempts, prior state, result)
//	EV#<finding key or ->     <seq, 20 digits>   an audit event
//	B#<scope>                 <window, ns>       a blast-radius counter
//	SEQ                       events             the audit-event sequence counter
//
// # Exactly once without transactions
//
// Every write is a single-item conditional write, so the ledger works on
// DynamoDB and on emulators without TransactWriteItems (dynalite), and costs
// one write unit per item:
//
//   - Record commits a finding version with one conditional put of the
//     finding item (absent for a new finding, the previous revision for an
//     update). The put carries the whole record — decision, steps, events
//     with their reserved sequence numbers — as an intent. Only the writer
//     whose put succeeds decides; a concurrent writer of the same version
//     re-reads and sees Unchanged. The intent is then applied with idempotent
//     writes (decision: put if absent; step: put if absent or cancelled;
//     events: put at their reserved sequence number) and cleared. Whoever
//     finds an intent (the next Record of the finding, LatestDecision,
//     Unfinished) applies it first, so a crash between the commit and the
//     clear loses nothing and duplicates nothing.
//   - StartStep and EndStep are conditional updates on the step's state:
//     of concurrent workers, exactly one moves a step from started to an end
//     state, and an ended step is never started again.
//   - Decision status changes and approvals are conditional updates on the
//     decision's status; the approval is stored in the decision item by the
//     same write.
//   - TakeBudget increments each counter under the condition count < limit;
//     when a later counter is full, the earlier increments are given back.
//     A crash between the two leaves a counter one too high: the budget errs
//     on the side of fewer automatic containments.
//
// # Listings and their limits
//
// The "list" index has one partition per kind of record (finding, decision,
// step, event) sorted by time, so `reflex history` reads newest or oldest
// first without a scan. One partition takes about a thousand writes a
// second: far above GuardDuty finding rates, but the limit of this design.
// Index reads are eventually consistent; everything that decides (Record,
// Step, StartStep, EndStep, Decision, LatestDecision, budgets) reads the
// base table with strongly consistent reads.
//
// # Retention
//
// Items carry a ttl attribute (Options.Retention after their last change,
// 400 days by default); DynamoDB deletes them some time after. A finding
// re-sent after its records expired is decided again. Budget counters live
// for a day past their window.
package dynamodb
