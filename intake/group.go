package intake

import (
	"context"
	"sync"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/finding"
)

// MaxGroup caps the findings of one group commit.
const MaxGroup = 256

// group commits the findings of concurrent callers (HTTP requests, SQS
// messages) in one ledger transaction: the first caller to find no commit
// in progress leads, and commits whatever is waiting, again and again, until
// nothing waits; the others wait for their share of the results. An idle
// intake commits alone, without delay; a busy one pays one synchronous
// commit for many findings. Every caller returns only once its findings
// are durable (or with the error), so a 202 or a deleted message still
// means "in the ledger".
type group struct {
	mu       sync.Mutex
	pending  []*groupReq
	leading  bool
	maxGroup int
}

type groupReq struct {
	fs   []*finding.Finding
	rs   []*engine.Result
	err  error
	done chan struct{}
	// promote makes a waiting caller the leader
	promote chan struct{}
}

// record records fs through commit, grouped with concurrent callers.
// Waiting callers do not leave on their own cancellation: a commit is
// short, and a caller promoted to leader must be there to lead.
func (g *group) record(ctx context.Context, fs []*finding.Finding,
	commit func(context.Context, []*finding.Finding) ([]*engine.Result, error)) ([]*engine.Result, error) {
	req := &groupReq{fs: fs, done: make(chan struct{}), promote: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if !g.leading {
		g.leading = true
		g.mu.Unlock()
		g.lead(ctx, req, commit)
		return req.rs, req.err
	}
	g.mu.Unlock()
	select {
	case <-req.done:
	case <-req.promote:
		g.lead(ctx, req, commit)
	}
	return req.rs, req.err
}

// lead commits groups until nothing waits or, once the leader's own
// request is done, hands the lead to the first waiting caller: its own
// request is in the first group it takes, so a leader answers its caller
// after one group commit (and its fallback), however busy the intake is.
func (g *group) lead(ctx context.Context, own *groupReq,
	commit func(context.Context, []*finding.Finding) ([]*engine.Result, error)) {
	for {
		g.mu.Lock()
		select {
		case <-own.done:
			if len(g.pending) > 0 {
				close(g.pending[0].promote)
			} else {
				g.leading = false
			}
			g.mu.Unlock()
			return
		default:
		}
		batch := g.take()
		g.mu.Unlock()
		// the commit serves other callers too: the leader's cancellation
		// does not stop it
		g.commit(context.WithoutCancel(ctx), batch, commit)
	}
}

// take removes the next group from pending (with g.mu held): whole
// requests, at most maxGroup findings unless one request alone is larger.
func (g *group) take() []*groupReq {
	limit := g.maxGroup
	if limit <= 0 {
		limit = MaxGroup
	}
	n, size := 0, 0
	for n < len(g.pending) && (n == 0 || size+len(g.pending[n].fs) <= limit) {
		size += len(g.pending[n].fs)
		n++
	}
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	return batch
}

func (g *group) commit(ctx context.Context, batch []*groupReq,
	commit func(context.Context, []*finding.Finding) ([]*engine.Result, error)) {
	if len(batch) == 1 {
		r := batch[0]
		r.rs, r.err = commit(ctx, r.fs)
		close(r.done)
		return
	}
	var all []*finding.Finding
	for _, r := range batch {
		all = append(all, r.fs...)
	}
	rs, err := commit(ctx, all)
	if err != nil {
		// one request's failure must not fail the others: commit each alone
		for _, r := range batch {
			r.rs, r.err = commit(ctx, r.fs)
			close(r.done)
		}
		return
	}
	for _, r := range batch {
		r.rs, rs = rs[:len(r.fs):len(r.fs)], rs[len(r.fs):]
		close(r.done)
	}
}
