package action

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func builtins() []Step { return []Step{recordStep{}, notifyStep{}, testStep{}} }

// recordStep writes a note in the ledger: its result is the journal entry.
type recordStep struct{}

func (recordStep) Spec() Spec {
	return Spec{
		Name:        "record",
		Description: "Record a note about the finding in the ledger (no AWS call). Useful to log that a rule fired.",
		Params:      []Param{{Name: "note", Type: TypeString, Default: "", Description: "text recorded with the finding"}},
		Effect:      ReadOnly,
		Available:   true,
		Example:     "- step: record\n  params: {note: reconnaissance seen}",
	}
}

func (recordStep) Plan(_ context.Context, req *Request) ([]Call, error) {
	return []Call{{Service: "local", Action: "RecordNote", Input: map[string]any{"note": req.Params.String("note")}}}, nil
}

func (recordStep) Do(_ context.Context, req *Request) Result {
	return Done(map[string]any{"note": req.Params.String("note"), "finding": req.Finding.Key().String()})
}

func (recordStep) Undo(context.Context, *Request) Result {
	return Skipped("a record has nothing to undo")
}

// notifyStep announces the decision: the engine runs it after every other
// step of the decision, and it hands one message — the finding, the
// decision and every step's status — to the notification dispatcher on its
// route. It is done when the message is queued; delivery is reported later
// in the audit trail (notify.delivered, notify.failed …). A decision whose
// plan has a notify step is announced by it only, never twice.
type notifyStep struct{}

func (notifyStep) Spec() Spec {
	return Spec{
		Name: "notify",
		Description: "Announce the decision and every step's status on a notification route (notifications.routes). " +
			"Runs after the decision's other steps; done when the message is queued, delivery is recorded in the audit trail. " +
			"Without a notifications section it is skipped and the message is recorded in the ledger only.",
		Params: []Param{
			{Name: "route", Type: TypeString, Default: "default", Description: "the notification route to use (default: the routes whose match takes the event)"},
			{Name: "message", Type: TypeString, Default: "", Description: "extra text for the notification"},
		},
		Effect:    ReadOnly,
		Available: true,
		Example:   "- step: notify\n  params: {route: security-team}",
	}
}

func notifyRoute(p Params) string {
	r := p.String("route")
	if r == "default" {
		return ""
	}
	return r
}

func (notifyStep) Plan(_ context.Context, req *Request) ([]Call, error) {
	route := notifyRoute(req.Params)
	target := route
	if target == "" {
		target = "(the routes that match)"
	}
	return []Call{{Service: "notify", Action: "Submit", Target: target,
		Note: "one message for the decision, after its other steps; delivery recorded in the audit trail"}}, nil
}

func (notifyStep) Do(_ context.Context, req *Request) Result {
	route := notifyRoute(req.Params)
	out, _ := json.Marshal(map[string]any{
		"route":   req.Params.String("route"),
		"message": req.Params.String("message"),
		"finding": req.Finding.Key().String(),
		"type":    req.Finding.Type,
	})
	if req.Announce == nil {
		return Result{Status: StatusSkipped, Output: out,
			Reason: "no notifications configured: message recorded in the ledger, not sent"}
	}
	if !req.Announce(route, req.Params.String("message")) {
		return Result{Status: StatusSkipped, Output: out,
			Reason: "not queued: the notification queue is full or closed (the drop is in the audit trail)"}
	}
	on := "route " + req.Params.String("route")
	if route == "" {
		on = "the routes that match"
	}
	return Result{Status: StatusDone, Output: out,
		Reason: "queued on " + on + "; delivery is recorded in the audit trail (notify.*)"}
}

func (notifyStep) Undo(context.Context, *Request) Result {
	return Skipped("a notification cannot be unsent")
}

// testStep exercises the executor: its side effect is one line appended to
// a local file, checked first so the step is idempotent. It can sleep around
// the side effect and fail its first attempts.
type testStep struct{}

// TestEffectsFile is the file test.effect appends to, in its dir parameter.
const TestEffectsFile = "effects.log"

func (testStep) Spec() Spec {
	return Spec{
		Name: "test.effect",
		Description: "For tests of reflex itself: append one line (the step key) to " + TestEffectsFile +
			" in a local directory, once. Touches nothing else.",
		Params: []Param{
			{Name: "dir", Type: TypeString, Required: true, Description: "directory of the effects file"},
			{Name: "sleep", Type: TypeDuration, Default: "0s", Description: "wait this long before and after the side effect"},
			{Name: "fail", Type: TypeInt, Default: int64(0), Description: "fail (retryably) this many first attempts"},
			{Name: "fail_hard", Type: TypeBool, Default: false, Description: "fail without retry"},
		},
		Effect:    Reversible,
		Available: true,
	}
}

func (testStep) Plan(_ context.Context, req *Request) ([]Call, error) {
	return []Call{{Service: "local", Action: "AppendLine", Target: filepath.Join(req.Params.String("dir"), TestEffectsFile),
		Input: map[string]any{"line": req.Key}}}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TestEffects reads the lines test.effect appended in dir.
func TestEffects(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, TestEffectsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}

func (testStep) Do(ctx context.Context, req *Request) Result {
	dir := req.Params.String("dir")
	line := strings.ReplaceAll(req.Key, "\n", " ")
	if n := req.Params.Int("fail"); n > 0 {
		cnt := filepath.Join(dir, "attempts-"+strconv.FormatUint(hash(req.Key), 16))
		b, _ := os.ReadFile(cnt)
		seen, _ := strconv.Atoi(string(b))
		if err := os.WriteFile(cnt, []byte(strconv.Itoa(seen+1)), 0o600); err != nil {
			return Failed(err, false)
		}
		if int64(seen) < n {
			return Failed(fmt.Errorf("test.effect: planned failure %d of %d", seen+1, n), true)
		}
	}
	if req.Params.Bool("fail_hard") {
		return Failed(errors.New("test.effect: planned permanent failure"), false)
	}
	prior := map[string]any{"absent": line}
	done, err := TestEffects(dir)
	if err != nil {
		return Failed(err, true)
	}
	for _, l := range done {
		if l == line {
			r := Done(map[string]any{"line": line, "already": true})
			if len(req.Prior) > 0 { // an earlier attempt's: it wrote the line
				r.Prior = req.Prior
			}
			return r
		}
	}
	if err := sleepCtx(ctx, req.Params.Duration("sleep")); err != nil {
		return Failed(err, true)
	}
	if err := SaveCheckpoint(ctx, req, prior); err != nil {
		return Failed(err, true)
	}
	f, err := os.OpenFile(filepath.Join(dir, TestEffectsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return Failed(err, true)
	}
	_, werr := f.Write([]byte(line + "\n")) // one write: the side effect is atomic
	cerr := f.Close()
	if werr != nil || cerr != nil {
		return Failed(errors.Join(werr, cerr), true)
	}
	if err := sleepCtx(ctx, req.Params.Duration("sleep")); err != nil {
		return Failed(err, true)
	}
	return Result{Status: StatusDone, Prior: mustJSON(prior), Output: mustJSON(map[string]any{"line": line})}
}

func (testStep) Undo(_ context.Context, req *Request) Result {
	return Skipped("test.effect keeps its effects log")
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
