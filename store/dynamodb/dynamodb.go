package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/reflexsec/reflex/store"
)

// API is the part of the DynamoDB client the ledger uses.
type API interface {
	GetItem(context.Context, *ddb.GetItemInput, ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	PutItem(context.Context, *ddb.PutItemInput, ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	UpdateItem(context.Context, *ddb.UpdateItemInput, ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	Query(context.Context, *ddb.QueryInput, ...func(*ddb.Options)) (*ddb.QueryOutput, error)
	BatchGetItem(context.Context, *ddb.BatchGetItemInput, ...func(*ddb.Options)) (*ddb.BatchGetItemOutput, error)
}

// Options tune New.
type Options struct {
	// Retention is how long records are kept after their last change
	// (the ttl attribute); default 400 days.
	Retention time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// DefaultRetention is the default Options.Retention.
const DefaultRetention = 400 * 24 * time.Hour

// Ledger is store.Ledger on one DynamoDB table.
type Ledger struct {
	c     API
	table string
	ret   time.Duration
	now   func() time.Time
}

var _ store.Ledger = (*Ledger)(nil)

// New returns the ledger on table (which EnsureTable creates).
func New(c API, table string, opt Options) *Ledger {
	if opt.Retention <= 0 {
		opt.Retention = DefaultRetention
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Ledger{c: c, table: table, ret: opt.Retention, now: opt.Now}
}

// Table returns the table's name.
func (l *Ledger) Table() string { return l.table }

// Close implements store.Ledger (the client needs no closing).
func (l *Ledger) Close() error { return nil }

// ---- attribute helpers

type item = map[string]types.AttributeValue

func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func avN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func avF(f float64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(f, 'g', -1, 64)}
}
func avBool(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// setB sets a binary attribute when b is not empty (DynamoDB refuses empty
// binary values in keys only, but absent is the ledger's "none").
func setB(it item, name string, b []byte) {
	if len(b) > 0 {
		it[name] = &types.AttributeValueMemberB{Value: b}
	}
}

func setS(it item, name, s string) {
	if s != "" {
		it[name] = avS(s)
	}
}

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getF(it item, name string) float64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		f, _ := strconv.ParseFloat(v.Value, 64)
		return f
	}
	return 0
}

func getB(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func getBool(it item, name string) bool {
	if v, ok := it[name].(*types.AttributeValueMemberBOOL); ok {
		return v.Value
	}
	return false
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// pad formats a time (ns) so that string order is time order.
func pad(n int64) string { return fmt.Sprintf("%020d", n) }

func key(pk, sk string) item { return item{"pk": avS(pk), "sk": avS(sk)} }

func findingPK(k string) string   { return "F#" + k }
func decisionPK(id string) string { return "D#" + id }
func stepPK(k string) string      { return "S#" + k }
func eventPK(fk string) string {
	if fk == "" {
		fk = "-"
	}
	return "EV#" + fk
}

func (l *Ledger) ttl(t time.Time) types.AttributeValue {
	if t.IsZero() {
		t = l.now()
	}
	return avN(t.Add(l.ret).Unix())
}

var nameRE = regexp.MustCompile(`#[a-z]+`)

// nm returns the expression attribute names of the #name tokens in exprs
// (every attribute is named through a placeholder: DynamoDB reserves many
// words).
func nm(exprs ...string) map[string]string {
	out := map[string]string{}
	for _, e := range exprs {
		for _, n := range nameRE.FindAllString(e, -1) {
			out[n] = n[1:]
		}
	}
	return out
}

// conditionFailed reports whether err is a failed condition.
func conditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

func (l *Ledger) get(ctx context.Context, pk, sk string) (item, error) {
	out, err := l.c.GetItem(ctx, &ddb.GetItemInput{TableName: &l.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("ledger: get %s: %w", pk, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// ---- findings

func (l *Ledger) findingItem(f *store.Finding) item {
	it := key(findingPK(f.Key), "F")
	it["key"] = avS(f.Key)
	it["acct"] = avS(f.AccountID)
	it["region"] = avS(f.Region)
	it["id"] = avS(f.ID)
	it["type"] = avS(f.Type)
	it["sev"] = avF(f.Severity)
	it["sample"] = avBool(f.Sample)
	it["upd"] = avN(ns(f.UpdatedAt))
	it["cnt"] = avN(f.Count)
	it["rev"] = avN(int64(f.Revision))
	it["first"] = avN(ns(f.FirstSeen))
	it["last"] = avN(ns(f.LastSeen))
	setB(it, "raw", f.Raw)
	it["lk"] = avS("finding")
	it["lt"] = avS(pad(ns(f.LastSeen)) + "#" + f.Key)
	it["ttl"] = l.ttl(f.LastSeen)
	return it
}

func findingFrom(it item) *store.Finding {
	return &store.Finding{
		Key: getS(it, "key"), AccountID: getS(it, "acct"), Region: getS(it, "region"), ID: getS(it, "id"), Type: getS(it, "type"),
		Severity: getF(it, "sev"), Sample: getBool(it, "sample"), UpdatedAt: tm(getN(it, "upd")), Count: getN(it, "cnt"),
		Revision: int(getN(it, "rev")), FirstSeen: tm(getN(it, "first")), LastSeen: tm(getN(it, "last")), Raw: getB(it, "raw"),
	}
}

// intent is a committed record not yet applied to its own items.
type intent struct {
	Decision *store.Decision `json:"decision,omitempty"`
	Steps    []*store.Step   `json:"steps,omitempty"`
	Events   []*store.Event  `json:"events,omitempty"`
}

// Finding implements store.Ledger.
func (l *Ledger) Finding(ctx context.Context, k string) (*store.Finding, error) {
	it, err := l.get(ctx, findingPK(k), "F")
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, fmt.Errorf("finding %s: %w", k, store.ErrNotFound)
	}
	return findingFrom(it), nil
}

// Lookup returns the recorded versions (without Raw) of the findings with
// these keys that the ledger holds.
func (l *Ledger) Lookup(ctx context.Context, keys []string) (map[string]*store.Finding, error) {
	out := make(map[string]*store.Finding, len(keys))
	var pks []string
	for _, k := range keys {
		pks = append(pks, findingPK(k))
	}
	items, err := l.batchGet(ctx, pks, "F", "pk, #key, #acct, #region, #id, #type, #sev, #sample, #upd, #cnt, #rev, #first, #last",
		map[string]string{"#key": "key", "#acct": "acct", "#region": "region", "#id": "id", "#type": "type", "#sev": "sev", "#sample": "sample",
			"#upd": "upd", "#cnt": "cnt", "#rev": "rev", "#first": "first", "#last": "last"})
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		f := findingFrom(it)
		out[f.Key] = f
	}
	return out, nil
}

// batchGet reads items (pk, sk) with strongly consistent reads, 100 at a
// time, retrying unprocessed keys.
func (l *Ledger) batchGet(ctx context.Context, pks []string, sk, projection string, names map[string]string) ([]item, error) {
	var out []item
	seen := map[string]bool{}
	for len(pks) > 0 {
		n := min(100, len(pks))
		var ks []item
		for _, pk := range pks[:n] {
			if seen[pk] {
				continue
			}
			seen[pk] = true
			ks = append(ks, key(pk, sk))
		}
		pks = pks[n:]
		ka := types.KeysAndAttributes{Keys: ks, ConsistentRead: aws.Bool(true)}
		if projection != "" {
			ka.ProjectionExpression = &projection
			ka.ExpressionAttributeNames = names
		}
		req := map[string]types.KeysAndAttributes{l.table: ka}
		for attempt := 0; len(req) > 0 && len(req[l.table].Keys) > 0; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, backoff(attempt)); err != nil {
					return nil, err
				}
			}
			res, err := l.c.BatchGetItem(ctx, &ddb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("ledger: batch get: %w", err)
			}
			out = append(out, res.Responses[l.table]...)
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

func backoff(attempt int) time.Duration {
	d := time.Duration(1<<min(attempt, 8)) * 5 * time.Millisecond
	return min(d, time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Record implements store.Ledger. Each record is committed by one
// conditional write of its finding item; see the package documentation.
func (l *Ledger) Record(ctx context.Context, recs []*store.Record) ([]store.Change, error) {
	changes := make([]store.Change, len(recs))
	for i, r := range recs {
		ch, err := l.record(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("ledger: record %s: %w", r.Finding.Key, err)
		}
		changes[i] = ch
	}
	return changes, nil
}

func (l *Ledger) record(ctx context.Context, r *store.Record) (store.Change, error) {
	f := r.Finding
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if attempt > 20 {
				return "", fmt.Errorf("too much contention on finding %s", f.Key)
			}
			if err := sleep(ctx, backoff(attempt)/4); err != nil {
				return "", err
			}
		}
		cur, err := l.get(ctx, findingPK(f.Key), "F")
		if err != nil {
			return "", err
		}
		if cur != nil && len(getB(cur, "intent")) > 0 {
			if err := l.apply(ctx, cur); err != nil {
				return "", err
			}
			continue
		}
		var prev *store.Finding
		if cur != nil {
			prev = findingFrom(cur)
		}
		ch := store.Compare(prev, f)
		if ch != store.New && ch != store.Updated {
			return ch, nil
		}
		first, rev := f.LastSeen, 1
		if prev != nil {
			first, rev = prev.FirstSeen, prev.Revision+1
		}
		// a copy: the caller's record changes only once committed
		nf := *f
		nf.FirstSeen, nf.Revision = first, rev
		in := intent{Steps: r.Steps}
		if r.Decision != nil {
			d := *r.Decision
			d.Revision = rev
			in.Decision = &d
		}
		if len(r.Events) > 0 {
			top, err := l.reserve(ctx, len(r.Events))
			if err != nil {
				return "", err
			}
			for j, e := range r.Events {
				c := *e
				c.Seq = top - int64(len(r.Events)) + int64(j) + 1
				in.Events = append(in.Events, &c)
			}
		}
		blob, err := json.Marshal(in)
		if err != nil {
			return "", err
		}
		it := l.findingItem(&nf)
		it["intent"] = &types.AttributeValueMemberB{Value: blob}
		it["wk"] = avS("intent")
		it["wt"] = avS(pad(ns(nf.LastSeen)) + "#" + nf.Key)
		if in.Decision != nil {
			it["latest"] = avS(in.Decision.ID)
		} else if prev != nil {
			setS(it, "latest", getS(cur, "latest"))
		}
		put := &ddb.PutItemInput{TableName: &l.table, Item: it}
		if prev == nil {
			put.ConditionExpression = aws.String("attribute_not_exists(pk)")
		} else {
			put.ConditionExpression = aws.String("#rev = :rev AND attribute_not_exists(#intent)")
			put.ExpressionAttributeNames = nm(*put.ConditionExpression)
			put.ExpressionAttributeValues = item{":rev": avN(int64(prev.Revision))}
		}
		if _, err := l.c.PutItem(ctx, put); err != nil {
			if conditionFailed(err) {
				continue // another writer committed first: compare again
			}
			return "", err
		}
		f.FirstSeen, f.Revision = first, rev
		if r.Decision != nil {
			r.Decision.Revision = rev
		}
		for j, e := range r.Events {
			e.Seq = in.Events[j].Seq
		}
		if err := l.apply(ctx, it); err != nil {
			return "", err
		}
		return ch, nil
	}
}

// reserve takes n audit-event sequence numbers and returns the highest.
func (l *Ledger) reserve(ctx context.Context, n int) (int64, error) {
	out, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: &l.table, Key: key("SEQ", "events"),
		UpdateExpression:          aws.String("ADD #v :n"),
		ExpressionAttributeNames:  nm("#v"),
		ExpressionAttributeValues: item{":n": avN(int64(n))},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("event sequence: %w", err)
	}
	return getN(out.Attributes, "v"), nil
}

// apply writes a committed intent's decision, steps and events, then
// clears it. Every write is idempotent, so apply may run any number of
// times, concurrently.
func (l *Ledger) apply(ctx context.Context, fit item) error {
	var in intent
	if err := json.Unmarshal(getB(fit, "intent"), &in); err != nil {
		return fmt.Errorf("intent of %s: %w", getS(fit, "key"), err)
	}
	if d := in.Decision; d != nil {
		di := l.decisionItem(d)
		var keys []types.AttributeValue
		for _, s := range in.Steps {
			keys = append(keys, avS(s.Key))
		}
		if len(keys) > 0 {
			di["steps"] = &types.AttributeValueMemberL{Value: keys}
		}
		_, err := l.c.PutItem(ctx, &ddb.PutItemInput{TableName: &l.table, Item: di, ConditionExpression: aws.String("attribute_not_exists(pk)")})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("decision %s: %w", d.ID, err)
		}
	}
	for _, s := range in.Steps {
		_, err := l.c.PutItem(ctx, &ddb.PutItemInput{TableName: &l.table, Item: l.stepItem(s),
			ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#state = :cancelled AND #dec <> :dec)"),
			ExpressionAttributeNames: nm("#state #dec"),
			ExpressionAttributeValues: item{":cancelled": avS(store.StepCancelled),
				":dec": avS(s.DecisionID)}})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("step %s: %w", s.Key, err)
		}
	}
	for _, e := range in.Events {
		if _, err := l.c.PutItem(ctx, &ddb.PutItemInput{TableName: &l.table, Item: l.eventItem(e)}); err != nil {
			return fmt.Errorf("event: %w", err)
		}
	}
	_, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: key(getS(fit, "pk"), "F"),
		UpdateExpression:          aws.String("REMOVE #intent, #wk, #wt"),
		ConditionExpression:       aws.String("#intent = :in"),
		ExpressionAttributeNames:  nm("#intent #wk #wt"),
		ExpressionAttributeValues: item{":in": fit["intent"]},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("clear intent: %w", err)
	}
	return nil
}

// ---- decisions

func workOf(status string, expires time.Time, created time.Time, id string) (wk, wt string) {
	switch status {
	case store.DecisionApproved, store.DecisionRunning:
		return "run", pad(ns(created)) + "#" + id
	case store.DecisionPending:
		return "pending", pad(ns(expires)) + "#" + id
	}
	return "", ""
}

func (l *Ledger) decisionItem(d *store.Decision) item {
	it := key(decisionPK(d.ID), "D")
	it["id"] = avS(d.ID)
	it["fk"] = avS(d.FindingKey)
	it["rev"] = avN(int64(d.Revision))
	it["acct"] = avS(d.AccountID)
	it["created"] = avN(ns(d.CreatedAt))
	it["updated"] = avN(ns(d.UpdatedAt))
	it["mode"] = avS(d.Mode)
	it["status"] = avS(d.Status)
	it["summary"] = avS(d.Summary)
	it["expires"] = avN(ns(d.ExpiresAt))
	setB(it, "plan", d.Plan)
	if wk, wt := workOf(d.Status, d.ExpiresAt, d.CreatedAt, d.ID); wk != "" {
		it["wk"], it["wt"] = avS(wk), avS(wt)
	}
	it["lk"] = avS("decision")
	it["lt"] = avS(pad(ns(d.CreatedAt)) + "#" + d.ID)
	it["ttl"] = l.ttl(d.CreatedAt)
	return it
}

func decisionFrom(it item) *store.Decision {
	return &store.Decision{
		ID: getS(it, "id"), FindingKey: getS(it, "fk"), Revision: int(getN(it, "rev")), AccountID: getS(it, "acct"),
		CreatedAt: tm(getN(it, "created")), UpdatedAt: tm(getN(it, "updated")), Mode: getS(it, "mode"), Status: getS(it, "status"),
		Summary: getS(it, "summary"), ExpiresAt: tm(getN(it, "expires")), Plan: getB(it, "plan"),
	}
}

func stepKeysOf(it item) []string {
	var out []string
	if l, ok := it["steps"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				out = append(out, s.Value)
			}
		}
	}
	return out
}

func (l *Ledger) decisionItemByID(ctx context.Context, id string) (item, error) {
	it, err := l.get(ctx, decisionPK(id), "D")
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, fmt.Errorf("decision %s: %w", id, store.ErrNotFound)
	}
	return it, nil
}

// Decision implements store.Ledger.
func (l *Ledger) Decision(ctx context.Context, id string) (*store.Decision, error) {
	it, err := l.decisionItemByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return decisionFrom(it), nil
}

// LatestDecision implements store.Ledger.
func (l *Ledger) LatestDecision(ctx context.Context, findingKey string) (*store.Decision, error) {
	fit, err := l.get(ctx, findingPK(findingKey), "F")
	if err != nil {
		return nil, err
	}
	if fit != nil && len(getB(fit, "intent")) > 0 {
		if err := l.apply(ctx, fit); err != nil {
			return nil, err
		}
	}
	id := getS(fit, "latest")
	if id == "" {
		return nil, fmt.Errorf("decision for finding %s: %w", findingKey, store.ErrNotFound)
	}
	return l.Decision(ctx, id)
}

// setStatus moves a decision to status under cond; extra SET clauses and
// values are added to the update.
func (l *Ledger) setStatus(ctx context.Context, d *store.Decision, status string, at time.Time, cond string, vals item, extra string) error {
	upd := "SET #status = :to, #updated = :at" + extra
	if vals == nil {
		vals = item{}
	}
	vals[":to"], vals[":at"] = avS(status), avN(ns(at))
	wk, wt := workOf(status, d.ExpiresAt, d.CreatedAt, d.ID)
	if wk == "" && (status == store.DecisionDenied || status == store.DecisionExpired) {
		wk, wt = "sweep", pad(ns(at))+"#"+d.ID // planned steps to cancel
	}
	if wk != "" {
		upd += ", #wk = :wk, #wt = :wt"
		vals[":wk"], vals[":wt"] = avS(wk), avS(wt)
	} else {
		upd += " REMOVE #wk, #wt"
	}
	_, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: key(decisionPK(d.ID), "D"),
		UpdateExpression: &upd, ConditionExpression: &cond,
		ExpressionAttributeNames: nm(upd, cond), ExpressionAttributeValues: vals})
	return err
}

// SetDecisionStatus implements store.Ledger.
func (l *Ledger) SetDecisionStatus(ctx context.Context, id string, from []string, status string, at time.Time) error {
	it, err := l.decisionItemByID(ctx, id)
	if err != nil {
		return err
	}
	d := decisionFrom(it)
	if !slices.Contains(from, d.Status) {
		return fmt.Errorf("decision %s is not %v: %w", id, from, store.ErrConflict)
	}
	vals := item{}
	cond := "#status IN ("
	for i, s := range from {
		p := ":f" + strconv.Itoa(i)
		vals[p] = avS(s)
		if i > 0 {
			cond += ", "
		}
		cond += p
	}
	cond += ")"
	if err := l.setStatus(ctx, d, status, at, cond, vals, ""); err != nil {
		if conditionFailed(err) {
			return fmt.Errorf("decision %s is not %v: %w", id, from, store.ErrConflict)
		}
		return fmt.Errorf("ledger: decision %s: %w", id, err)
	}
	if status == store.DecisionDenied || status == store.DecisionExpired {
		return l.sweep(ctx, d.ID, "decision "+status, at)
	}
	return nil
}

func (l *Ledger) queryAll(ctx context.Context, in *ddb.QueryInput, limit int, filter func(item) bool) ([]item, error) {
	in.TableName = &l.table
	if n := nm(aws.ToString(in.KeyConditionExpression)); len(n) > 0 {
		in.ExpressionAttributeNames = n
	}
	var out []item
	for {
		res, err := l.c.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("ledger: query: %w", err)
		}
		for _, it := range res.Items {
			if filter != nil && !filter(it) {
				continue
			}
			out = append(out, it)
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

func (l *Ledger) work(ctx context.Context, wk string, before string) ([]item, error) {
	in := &ddb.QueryInput{IndexName: aws.String("work"), KeyConditionExpression: aws.String("#wk = :wk"),
		ExpressionAttributeValues: item{":wk": avS(wk)}}
	if before != "" {
		in.KeyConditionExpression = aws.String("#wk = :wk AND #wt < :b")
		in.ExpressionAttributeValues[":b"] = avS(before)
	}
	return l.queryAll(ctx, in, 0, nil)
}

// Unfinished implements store.Ledger. It also applies intents left by
// interrupted writers and cancels the planned steps of denied or expired
// decisions whose cancellation was interrupted.
func (l *Ledger) Unfinished(ctx context.Context) ([]*store.Decision, error) {
	if err := l.recover(ctx); err != nil {
		return nil, err
	}
	its, err := l.work(ctx, "run", "")
	if err != nil {
		return nil, err
	}
	var out []*store.Decision
	for _, it := range its {
		// the index is eventually consistent: read the decision itself
		cur, err := l.get(ctx, getS(it, "pk"), "D")
		if err != nil {
			return nil, err
		}
		if cur == nil {
			continue
		}
		d := decisionFrom(cur)
		if d.Status == store.DecisionApproved || d.Status == store.DecisionRunning {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b *store.Decision) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (l *Ledger) recover(ctx context.Context) error {
	its, err := l.work(ctx, "intent", "")
	if err != nil {
		return err
	}
	for _, it := range its {
		cur, err := l.get(ctx, getS(it, "pk"), "F")
		if err != nil {
			return err
		}
		if cur != nil && len(getB(cur, "intent")) > 0 {
			if err := l.apply(ctx, cur); err != nil {
				return err
			}
		}
	}
	sw, err := l.work(ctx, "sweep", "")
	if err != nil {
		return err
	}
	for _, it := range sw {
		d := decisionFrom(it)
		if err := l.sweep(ctx, d.ID, "decision "+d.Status, d.UpdatedAt); err != nil {
			return err
		}
	}
	return nil
}

// sweep cancels a denied or expired decision's planned steps, then clears
// its work marker.
func (l *Ledger) sweep(ctx context.Context, id, reason string, at time.Time) error {
	if err := l.CancelSteps(ctx, id, reason, at); err != nil {
		return err
	}
	_, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: key(decisionPK(id), "D"),
		UpdateExpression: aws.String("REMOVE #wk, #wt"), ConditionExpression: aws.String("#wk = :s"), ExpressionAttributeNames: nm("#wk #wt"),
		ExpressionAttributeValues: item{":s": avS("sweep")}})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("ledger: decision %s: %w", id, err)
	}
	return nil
}

// Expire implements store.Ledger.
func (l *Ledger) Expire(ctx context.Context, now time.Time) ([]*store.Decision, error) {
	its, err := l.work(ctx, "pending", pad(ns(now)))
	if err != nil {
		return nil, err
	}
	var out []*store.Decision
	for _, it := range its {
		d := decisionFrom(it)
		if d.ExpiresAt.IsZero() || !d.ExpiresAt.Before(now) {
			continue
		}
		err := l.setStatus(ctx, d, store.DecisionExpired, now, "#status = :p", item{":p": avS(store.DecisionPending)}, "")
		if conditionFailed(err) {
			continue // answered meanwhile
		}
		if err != nil {
			return out, fmt.Errorf("ledger: expire %s: %w", d.ID, err)
		}
		if err := l.sweep(ctx, d.ID, "approval expired", now); err != nil {
			return out, err
		}
		d.Status, d.UpdatedAt = store.DecisionExpired, now
		out = append(out, d)
	}
	return out, nil
}

// ---- steps

func (l *Ledger) stepItem(s *store.Step) item {
	it := key(stepPK(s.Key), "S")
	it["key"] = avS(s.Key)
	it["dec"] = avS(s.DecisionID)
	it["fk"] = avS(s.FindingKey)
	it["seq"] = avN(int64(s.Seq))
	it["name"] = avS(s.Name)
	setS(it, "target", s.Target)
	setB(it, "params", s.Params)
	it["state"] = avS(s.State)
	it["attempts"] = avN(int64(s.Attempts))
	setB(it, "prior", s.Prior)
	setB(it, "result", s.Result)
	setS(it, "reason", s.Reason)
	it["planned"] = avN(ns(s.PlannedAt))
	it["started"] = avN(ns(s.StartedAt))
	it["ended"] = avN(ns(s.EndedAt))
	it["lk"] = avS("step")
	it["lt"] = avS(pad(ns(s.PlannedAt)) + "#" + s.DecisionID + "#" + fmt.Sprintf("%06d", s.Seq))
	it["ttl"] = l.ttl(s.PlannedAt)
	return it
}

func stepFrom(it item) *store.Step {
	return &store.Step{
		Key: getS(it, "key"), DecisionID: getS(it, "dec"), FindingKey: getS(it, "fk"), Seq: int(getN(it, "seq")),
		Name: getS(it, "name"), Target: getS(it, "target"), Params: getB(it, "params"), State: getS(it, "state"),
		Attempts: int(getN(it, "attempts")), Prior: getB(it, "prior"), Result: getB(it, "result"), Reason: getS(it, "reason"),
		PlannedAt: tm(getN(it, "planned")), StartedAt: tm(getN(it, "started")), EndedAt: tm(getN(it, "ended")),
	}
}

// Step implements store.Ledger.
func (l *Ledger) Step(ctx context.Context, k string) (*store.Step, error) {
	it, err := l.get(ctx, stepPK(k), "S")
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, fmt.Errorf("step %s: %w", k, store.ErrNotFound)
	}
	return stepFrom(it), nil
}

// DecisionSteps implements store.Ledger.
func (l *Ledger) DecisionSteps(ctx context.Context, decisionID string) ([]*store.Step, error) {
	dit, err := l.get(ctx, decisionPK(decisionID), "D")
	if err != nil || dit == nil {
		return nil, err
	}
	var pks []string
	for _, k := range stepKeysOf(dit) {
		pks = append(pks, stepPK(k))
	}
	its, err := l.batchGet(ctx, pks, "S", "", nil)
	if err != nil {
		return nil, err
	}
	var out []*store.Step
	for _, it := range its {
		if s := stepFrom(it); s.DecisionID == decisionID {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *store.Step) int { return a.Seq - b.Seq })
	return out, nil
}

// StartStep implements store.Ledger.
func (l *Ledger) StartStep(ctx context.Context, k string, at time.Time) (*store.Step, error) {
	out, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: key(stepPK(k), "S"),
		UpdateExpression:         aws.String("SET #state = :started, #started = :at ADD #attempts :one"),
		ConditionExpression:      aws.String("#state IN (:planned, :started)"),
		ExpressionAttributeNames: nm("#state #started #attempts"),
		ExpressionAttributeValues: item{":started": avS(store.StepStarted), ":planned": avS(store.StepPlanned),
			":at": avN(ns(at)), ":one": avN(1)},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		if conditionFailed(err) {
			s, gerr := l.Step(ctx, k)
			if gerr != nil {
				return nil, gerr
			}
			return s, fmt.Errorf("step %s already %s: %w", k, s.State, store.ErrConflict)
		}
		return nil, fmt.Errorf("ledger: step %s: %w", k, err)
	}
	return stepFrom(out.Attributes), nil
}

// CheckpointStep implements store.Ledger.
func (l *Ledger) CheckpointStep(ctx context.Context, k string, prior json.RawMessage) error {
	upd := "SET #prior = :prior"
	vals := item{":started": avS(store.StepStarted)}
	if len(prior) == 0 {
		upd = "REMOVE #prior"
	} else {
		vals[":prior"] = &types.AttributeValueMemberB{Value: prior}
	}
	_, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: key(stepPK(k), "S"),
		UpdateExpression: &upd, ConditionExpression: aws.String("#state = :started"),
		ExpressionAttributeNames: nm(upd + " #state"), ExpressionAttributeValues: vals})
	if err != nil {
		if conditionFailed(err) {
			return fmt.Errorf("step %s is not started: %w", k, store.ErrConflict)
		}
		return fmt.Errorf("ledger: checkpoint step %s: %w", k, err)
	}
	return nil
}

// EndStep implements store.Ledger.
func (l *Ledger) EndStep(ctx context.Context, s *store.Step) error {
	if !store.Ended(s.State) {
		return fmt.Errorf("step %s: end state %q is not final", s.Key, s.State)
	}
	vals := item{":to": avS(s.State), ":started": avS(store.StepStarted), ":ended": avN(ns(s.EndedAt))}
	set := "SET #state = :to, #ended = :ended"
	var remove []string
	for _, f := range []struct {
		name string
		b    []byte
	}{{"prior", s.Prior}, {"result", s.Result}, {"reason", []byte(s.Reason)}} {
		if len(f.b) == 0 {
			remove = append(remove, "#"+f.name)
			continue
		}
		set += ", #" + f.name + " = :" + f.name
		if f.name == "reason" {
			vals[":reason"] = avS(s.Reason)
		} else {
			vals[":"+f.name] = &types.AttributeValueMemberB{Value: f.b}
		}
	}
	upd := set
	if len(remove) > 0 {
		upd += " REMOVE "
		for i, r := range remove {
			if i > 0 {
				upd += ", "
			}
			upd += r
		}
	}
	_, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: key(stepPK(s.Key), "S"),
		UpdateExpression: &upd, ConditionExpression: aws.String("#state = :started"),
		ExpressionAttributeNames: nm(upd), ExpressionAttributeValues: vals})
	if err != nil {
		if conditionFailed(err) {
			return fmt.Errorf("step %s is not started: %w", s.Key, store.ErrConflict)
		}
		return fmt.Errorf("ledger: step %s: %w", s.Key, err)
	}
	return nil
}

// CancelSteps implements store.Ledger.
func (l *Ledger) CancelSteps(ctx context.Context, decisionID, reason string, at time.Time) error {
	dit, err := l.get(ctx, decisionPK(decisionID), "D")
	if err != nil || dit == nil {
		return err
	}
	for _, k := range stepKeysOf(dit) {
		_, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: key(stepPK(k), "S"),
			UpdateExpression:         aws.String("SET #state = :c, #reason = :r, #ended = :at"),
			ConditionExpression:      aws.String("#state = :p AND #dec = :d"),
			ExpressionAttributeNames: nm("#state #reason #ended #dec"),
			ExpressionAttributeValues: item{":c": avS(store.StepCancelled), ":r": avS(reason), ":at": avN(ns(at)),
				":p": avS(store.StepPlanned), ":d": avS(decisionID)}})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("ledger: cancel step %s: %w", k, err)
		}
	}
	return nil
}

// ---- approvals

// Approve implements store.Ledger: the approval is stored in the decision
// item by the write that moves it from pending.
func (l *Ledger) Approve(ctx context.Context, a *store.Approval) error {
	to := store.DecisionApproved
	if a.Verdict == store.DecisionDenied {
		to = store.DecisionDenied
	} else if a.Verdict != store.DecisionApproved {
		return fmt.Errorf("approval verdict %q: want approved or denied", a.Verdict)
	}
	it, err := l.decisionItemByID(ctx, a.DecisionID)
	if err != nil {
		return err
	}
	d := decisionFrom(it)
	blob, _ := json.Marshal(a)
	err = l.setStatus(ctx, d, to, a.At, "#status = :p", item{":p": avS(store.DecisionPending), ":a": &types.AttributeValueMemberB{Value: blob}}, ", #appr = :a")
	if err != nil {
		if conditionFailed(err) {
			cur, gerr := l.Decision(ctx, a.DecisionID)
			if gerr != nil {
				return gerr
			}
			return fmt.Errorf("decision %s is %s, not pending approval: %w", a.DecisionID, cur.Status, store.ErrConflict)
		}
		return fmt.Errorf("ledger: approve %s: %w", a.DecisionID, err)
	}
	if to == store.DecisionDenied {
		return l.sweep(ctx, d.ID, "denied by "+a.By, a.At)
	}
	return nil
}

// Approvals implements store.Ledger. Approvals live in their decisions:
// the listing reads decisions (Filter.Status is the verdict).
func (l *Ledger) Approvals(ctx context.Context, f store.Filter) ([]*store.Approval, error) {
	var its []item
	if f.DecisionID != "" {
		it, err := l.get(ctx, decisionPK(f.DecisionID), "D")
		if err != nil {
			return nil, err
		}
		if it != nil {
			its = append(its, it)
		}
	} else {
		var err error
		its, err = l.list(ctx, "decision", time.Time{}, true, 0, func(it item) bool { return len(getB(it, "appr")) > 0 })
		if err != nil {
			return nil, err
		}
	}
	var out []*store.Approval
	for _, it := range its {
		b := getB(it, "appr")
		if len(b) == 0 {
			continue
		}
		var a store.Approval
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, err
		}
		if f.Status != "" && a.Verdict != f.Status || !f.Since.IsZero() && a.At.Before(f.Since) {
			continue
		}
		out = append(out, &a)
	}
	slices.SortStableFunc(out, func(a, b *store.Approval) int { return a.At.Compare(b.At) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// ---- budget

func budgetKey(k store.BudgetKey) item { return key("B#"+k.Scope, pad(ns(k.Window))) }

// TakeBudget implements store.Ledger.
func (l *Ledger) TakeBudget(ctx context.Context, keys []store.BudgetKey) (bool, *store.BudgetKey, error) {
	for i, k := range keys {
		if k.Limit <= 0 { // a zero budget is always full
			if err := l.giveBack(ctx, keys[:i]); err != nil {
				return false, nil, err
			}
			return false, &keys[i], nil
		}
		_, err := l.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &l.table, Key: budgetKey(k),
			UpdateExpression:          aws.String("ADD #n :one SET #ttl = :ttl"),
			ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :limit"),
			ExpressionAttributeNames:  nm("#n #ttl"),
			ExpressionAttributeValues: item{":one": avN(1), ":limit": avN(int64(k.Limit)), ":ttl": avN(k.Window.Add(48 * time.Hour).Unix())},
		})
		if err != nil {
			if conditionFailed(err) {
				if gerr := l.giveBack(ctx, keys[:i]); gerr != nil {
					return false, nil, gerr
				}
				return false, &keys[i], nil
			}
			l.giveBack(ctx, keys[:i])
			return false, nil, fmt.Errorf("ledger: budget: %w", err)
		}
	}
	return true, nil, nil
}

func (l *Ledger) giveBack(ctx context.Context, keys []store.BudgetKey) error {
	for _, k := range keys {
		if _, err := l.c.UpdateItem(context.WithoutCancel(ctx), &ddb.UpdateItemInput{TableName: &l.table, Key: budgetKey(k),
			UpdateExpression: aws.String("ADD #n :m"), ExpressionAttributeNames: nm("#n"), ExpressionAttributeValues: item{":m": avN(-1)}}); err != nil {
			return fmt.Errorf("ledger: budget give-back: %w", err)
		}
	}
	return nil
}

// BudgetUsed implements store.Ledger.
func (l *Ledger) BudgetUsed(ctx context.Context, k store.BudgetKey) (int, error) {
	it, err := l.get(ctx, "B#"+k.Scope, pad(ns(k.Window)))
	if err != nil {
		return 0, err
	}
	return int(getN(it, "n")), nil
}

// ---- events

func (l *Ledger) eventItem(e *store.Event) item {
	it := key(eventPK(e.FindingKey), fmt.Sprintf("%020d", e.Seq))
	it["seq"] = avN(e.Seq)
	it["at"] = avN(ns(e.At))
	it["kind"] = avS(e.Kind)
	setS(it, "fk", e.FindingKey)
	setS(it, "dec", e.DecisionID)
	setS(it, "step", e.StepKey)
	setS(it, "actor", e.Actor)
	it["msg"] = avS(e.Message)
	setB(it, "data", e.Data)
	it["lk"] = avS("event")
	it["lt"] = avS(fmt.Sprintf("%020d", e.Seq))
	it["ttl"] = l.ttl(e.At)
	return it
}

func eventFrom(it item) *store.Event {
	return &store.Event{Seq: getN(it, "seq"), At: tm(getN(it, "at")), Kind: getS(it, "kind"), FindingKey: getS(it, "fk"),
		DecisionID: getS(it, "dec"), StepKey: getS(it, "step"), Actor: getS(it, "actor"), Message: getS(it, "msg"), Data: getB(it, "data")}
}

// Append implements store.Ledger.
func (l *Ledger) Append(ctx context.Context, es ...*store.Event) error {
	if len(es) == 0 {
		return nil
	}
	top, err := l.reserve(ctx, len(es))
	if err != nil {
		return err
	}
	for i, e := range es {
		e.Seq = top - int64(len(es)) + int64(i) + 1
		if _, err := l.c.PutItem(ctx, &ddb.PutItemInput{TableName: &l.table, Item: l.eventItem(e)}); err != nil {
			return fmt.Errorf("ledger: event: %w", err)
		}
	}
	return nil
}

// ---- listings

// list reads the "list" index partition of a kind, from since on, in time
// order (or newest first when !asc), keeping items filter accepts.
func (l *Ledger) list(ctx context.Context, kind string, since time.Time, asc bool, limit int, filter func(item) bool) ([]item, error) {
	in := &ddb.QueryInput{IndexName: aws.String("list"), KeyConditionExpression: aws.String("#lk = :k"),
		ExpressionAttributeValues: item{":k": avS(kind)}, ScanIndexForward: aws.Bool(asc)}
	if !since.IsZero() && kind != "event" {
		in.KeyConditionExpression = aws.String("#lk = :k AND #lt >= :s")
		in.ExpressionAttributeValues[":s"] = avS(pad(ns(since)))
	}
	return l.queryAll(ctx, in, limit, filter)
}

func eq(it item, attr, want string) bool { return want == "" || getS(it, attr) == want }

// Findings implements store.Ledger (newest first, without Raw unless a
// single finding is asked for).
func (l *Ledger) Findings(ctx context.Context, f store.Filter) ([]*store.Finding, error) {
	if f.FindingKey != "" {
		fd, err := l.Finding(ctx, f.FindingKey)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if (f.AccountID != "" && fd.AccountID != f.AccountID) || (!f.Since.IsZero() && fd.LastSeen.Before(f.Since)) {
			return nil, nil
		}
		return []*store.Finding{fd}, nil
	}
	its, err := l.list(ctx, "finding", f.Since, false, f.Limit, func(it item) bool { return eq(it, "acct", f.AccountID) })
	if err != nil {
		return nil, err
	}
	out := make([]*store.Finding, 0, len(its))
	for _, it := range its {
		fd := findingFrom(it)
		fd.Raw = nil
		out = append(out, fd)
	}
	return out, nil
}

// Decisions implements store.Ledger (newest first).
func (l *Ledger) Decisions(ctx context.Context, f store.Filter) ([]*store.Decision, error) {
	match := func(it item) bool {
		return eq(it, "id", f.DecisionID) && eq(it, "fk", f.FindingKey) && eq(it, "acct", f.AccountID) && eq(it, "status", f.Status) &&
			(f.Since.IsZero() || getN(it, "created") >= ns(f.Since))
	}
	var its []item
	var err error
	if f.DecisionID != "" {
		var it item
		if it, err = l.get(ctx, decisionPK(f.DecisionID), "D"); it != nil && match(it) {
			its = append(its, it)
		}
	} else {
		its, err = l.list(ctx, "decision", f.Since, false, f.Limit, match)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*store.Decision, 0, len(its))
	for _, it := range its {
		out = append(out, decisionFrom(it))
	}
	return out, nil
}

// Steps implements store.Ledger (in plan order).
func (l *Ledger) Steps(ctx context.Context, f store.Filter) ([]*store.Step, error) {
	match := func(it item) bool {
		return eq(it, "dec", f.DecisionID) && eq(it, "fk", f.FindingKey) && eq(it, "state", f.Status)
	}
	if f.DecisionID != "" {
		ss, err := l.DecisionSteps(ctx, f.DecisionID)
		if err != nil {
			return nil, err
		}
		var out []*store.Step
		for _, s := range ss {
			if (f.FindingKey == "" || s.FindingKey == f.FindingKey) && (f.Status == "" || s.State == f.Status) &&
				(f.Since.IsZero() || !s.PlannedAt.Before(f.Since)) {
				out = append(out, s)
			}
		}
		if f.Limit > 0 && len(out) > f.Limit {
			out = out[:f.Limit]
		}
		return out, nil
	}
	its, err := l.list(ctx, "step", f.Since, true, f.Limit, match)
	if err != nil {
		return nil, err
	}
	out := make([]*store.Step, 0, len(its))
	for _, it := range its {
		out = append(out, stepFrom(it))
	}
	return out, nil
}

// Events implements store.Ledger (in order). Events of one finding are
// read from their own partition.
func (l *Ledger) Events(ctx context.Context, f store.Filter) ([]*store.Event, error) {
	match := func(it item) bool {
		return eq(it, "dec", f.DecisionID) && eq(it, "fk", f.FindingKey) && eq(it, "kind", f.Status) &&
			(f.Since.IsZero() || getN(it, "at") >= ns(f.Since))
	}
	var its []item
	var err error
	if f.FindingKey != "" {
		its, err = l.queryAll(ctx, &ddb.QueryInput{KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: item{":pk": avS(eventPK(f.FindingKey))}, ConsistentRead: aws.Bool(true)}, f.Limit, match)
	} else {
		its, err = l.list(ctx, "event", f.Since, true, f.Limit, match)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*store.Event, 0, len(its))
	for _, it := range its {
		out = append(out, eventFrom(it))
	}
	return out, nil
}
