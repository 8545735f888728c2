package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/finding"
)

// TestGroupCommit runs concurrent callers through one group: each gets
// the results of its own findings, in order; a failing commit fails only
// the caller whose findings make it fail; groups never exceed the cap
// (unless one caller alone does).
func TestGroupCommit(t *testing.T) {
	cases := []struct {
		name     string
		callers  int
		per      int // findings per caller
		maxGroup int
		bad      string // a finding id whose commit fails
	}{
		{"one caller", 1, 3, 0, ""},
		{"many callers", 64, 2, 0, ""},
		{"capped groups", 64, 3, 7, ""},
		{"a caller larger than the cap", 8, 20, 5, ""},
		{"one bad caller", 32, 2, 0, "c07-f1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &group{maxGroup: tc.maxGroup}
			var mu sync.Mutex
			var sizes []int
			commit := func(_ context.Context, fs []*finding.Finding) ([]*engine.Result, error) {
				mu.Lock()
				sizes = append(sizes, len(fs))
				mu.Unlock()
				time.Sleep(time.Millisecond) // a commit takes time: callers arrive meanwhile and group
				out := make([]*engine.Result, len(fs))
				for i, f := range fs {
					if f.ID == tc.bad {
						return nil, errors.New("the ledger refuses " + f.ID)
					}
					out[i] = &engine.Result{Plan: &engine.Plan{DecisionID: "d-" + f.ID}}
				}
				return out, nil
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for c := range tc.callers {
				var fs []*finding.Finding
				for i := range tc.per {
					fs = append(fs, &finding.Finding{ID: fmt.Sprintf("c%02d-f%d", c, i)})
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					rs, err := g.record(t.Context(), fs, commit)
					mine := fmt.Sprintf("c%02d-", c)
					if tc.bad != "" && tc.bad[:4] == mine {
						if err == nil {
							t.Errorf("caller %d: no error, want the ledger's", c)
						}
						return
					}
					if err != nil {
						t.Errorf("caller %d: %v", c, err)
						return
					}
					if len(rs) != len(fs) {
						t.Errorf("caller %d: %d results for %d findings", c, len(rs), len(fs))
						return
					}
					for i, r := range rs {
						if r.Plan.DecisionID != "d-"+fs[i].ID {
							t.Errorf("caller %d: result %d is %s, want d-%s", c, i, r.Plan.DecisionID, fs[i].ID)
						}
					}
				}()
			}
			close(start)
			wg.Wait()
			total := 0
			for _, n := range sizes {
				total += n
				if tc.maxGroup > 0 && n > max(tc.maxGroup, tc.per) {
					t.Errorf("a group of %d findings, cap %d", n, tc.maxGroup)
				}
			}
			if tc.bad == "" && total != tc.callers*tc.per {
				t.Errorf("%d findings committed, want %d (each once)", total, tc.callers*tc.per)
			}
			if g.leading || len(g.pending) > 0 {
				t.Errorf("left leading=%v with %d pending", g.leading, len(g.pending))
			}
			t.Logf("%d commits for %d callers", len(sizes), tc.callers)
		})
	}
}
