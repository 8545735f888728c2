package intake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// MaxBody is the largest body the HTTP intake reads: EventBridge's own
// event size limit.
const MaxBody = 256 << 10

// Auth authenticates HTTP intake requests: an API key (EventBridge API
// destinations: a connection of type API_KEY sends it in a header) and/or
// an HMAC-SHA256 signature of the body. A request passes when any
// configured method passes; with none configured, every request fails.
type Auth struct {
	// KeyHeader names the API key header (default X-Api-Key); "Authorization:
	// Bearer KEY" is accepted too.
	KeyHeader string
	Keys      []string
	// SignatureHeader carries "sha256=HEX" of the body (default
	// X-Reflex-Signature).
	SignatureHeader string
	HMACSecret      []byte
}

// Configured reports whether any method is configured.
func (a *Auth) Configured() bool { return a != nil && (len(a.Keys) > 0 || len(a.HMACSecret) > 0) }

// Check authenticates a request whose body is body.
func (a *Auth) Check(r *http.Request, body []byte) error {
	if !a.Configured() {
		return ErrUnauthorized
	}
	if len(a.Keys) > 0 {
		h := a.KeyHeader
		if h == "" {
			h = "X-Api-Key"
		}
		got := r.Header.Get(h)
		if got == "" {
			if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				got = v
			}
		}
		if got != "" {
			gh := sha256.Sum256([]byte(got))
			ok := 0
			for _, k := range a.Keys {
				kh := sha256.Sum256([]byte(k)) // equal lengths: the compare is constant-time
				ok |= subtle.ConstantTimeCompare(gh[:], kh[:])
			}
			if ok == 1 {
				return nil
			}
		}
	}
	if len(a.HMACSecret) > 0 && body != nil {
		h := a.SignatureHeader
		if h == "" {
			h = "X-Reflex-Signature"
		}
		sig, ok := strings.CutPrefix(r.Header.Get(h), "sha256=")
		if ok {
			got, err := hex.DecodeString(sig)
			if err == nil {
				m := hmac.New(sha256.New, a.HMACSecret)
				m.Write(body)
				if hmac.Equal(got, m.Sum(nil)) {
					return nil
				}
			}
		}
	}
	return ErrUnauthorized
}

// HTTP is the intake endpoint: POST an EventBridge event, a JSON array of
// events (an API destination batch), a bare finding or GetFindings output.
// It answers 202 once the ledger has every finding, then executes approved
// decisions in the background (ExecCtx bounds them).
type HTTP struct {
	Proc    *Processor
	Auth    *Auth
	ExecCtx context.Context
}

type httpResult struct {
	Finding  string `json:"finding"`
	Decision string `json:"decision"`
	Change   string `json:"change"`
	Status   string `json:"status"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Error answers an HTTP error as {"error": ..., "problems": [...]}.
func Error(w http.ResponseWriter, code int, msg string, problems ...string) {
	body := map[string]any{"error": msg}
	if len(problems) > 0 {
		body["problems"] = problems
	}
	writeJSON(w, code, body)
}

func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.Proc
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		Error(w, http.StatusMethodNotAllowed, "POST an EventBridge event or a JSON array of events")
		return
	}
	if r.ContentLength > MaxBody {
		p.obs().Rejected("http", "too_large")
		p.log().Warn("input rejected", "source", "http", "bytes", r.ContentLength, "error", "body too large")
		Error(w, http.StatusRequestEntityTooLarge, "body too large: the limit is 262144 bytes (256 KB)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			p.obs().Rejected("http", "too_large")
			p.log().Warn("input rejected", "source", "http", "error", "body too large")
			Error(w, http.StatusRequestEntityTooLarge, "body too large: the limit is 262144 bytes (256 KB)")
			return
		}
		Error(w, http.StatusBadRequest, "cannot read the body: "+err.Error())
		return
	}
	// authenticate before parsing: unauthenticated input is counted and
	// logged, never written to the ledger
	if err := h.Auth.Check(r, body); err != nil {
		p.obs().Rejected("http", "unauthorized")
		p.log().Warn("request refused", "source", "http", "remote", r.RemoteAddr, "error", "missing or wrong API key or signature")
		Error(w, http.StatusUnauthorized, "missing or wrong API key or signature")
		return
	}
	fs, err := Decode("http", body)
	if err != nil {
		var re *RejectError
		var problems []string
		if errors.As(err, &re) {
			for _, e := range re.Errs {
				problems = append(problems, e.Error())
			}
		}
		if rerr := p.Reject(r.Context(), "http", body, err); rerr != nil {
			Error(w, http.StatusServiceUnavailable, "the ledger is unavailable: retry")
			return
		}
		Error(w, http.StatusBadRequest, "not GuardDuty findings (recorded as rejected)", problems...)
		return
	}
	rs, err := p.Record(r.Context(), "http", fs)
	if err != nil {
		Error(w, http.StatusServiceUnavailable, "the ledger is unavailable: retry")
		return
	}
	out := make([]httpResult, 0, len(rs))
	for _, res := range rs {
		out = append(out, httpResult{Finding: res.Plan.Finding.Key, Decision: res.Plan.DecisionID, Change: string(res.Change), Status: res.Plan.Status})
	}
	ctx := h.ExecCtx
	if ctx == nil {
		ctx = context.WithoutCancel(r.Context())
	}
	p.ExecuteAsync(ctx, rs)
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": len(rs), "results": out})
}
