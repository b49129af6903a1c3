package caddymodule

import (
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// countDecision counts the gate's decision on a request for the app in
// caddy_twofactor_gate_decisions_total.
func (h *Handler) countDecision(res *gate.Resolution, d gate.Decision) {
	if h.metrics == nil {
		return
	}
	h.metrics.GateDecision(h.decisionLabel(res, d))
}

// decisionLabel names a decision of gate.Check for the metric.
func (h *Handler) decisionLabel(res *gate.Resolution, d gate.Decision) string {
	switch {
	case d.UserID != "":
		return metrics.DecisionVerified
	case d.Redirect != "":
		if strings.HasPrefix(d.Redirect, strings.TrimRight(h.UIPath, "/")+"/enroll") {
			return metrics.DecisionEnroll
		}
		return metrics.DecisionChallenge
	case d.Error != nil && d.Error.Message == api.Code2FARequired:
		return metrics.DecisionChallenge
	case d.Error != nil && d.Error.Message == api.CodeEnrollmentRequired:
		return metrics.DecisionEnroll
	case d.Error != nil:
		return metrics.DecisionError
	case h.Mode == "report" && h.wouldStop(res):
		return metrics.DecisionReport
	}
	return metrics.DecisionPass
}

// wouldStop reports whether enforce mode would have stopped a request that
// report mode let through: a logged-in user without a verified session
// who has 2FA on, or any such user when enrolment is required. A Decision
// does not tell report mode's pass from a plain one, so wouldStop reads
// the user again. That costs one read transaction, in report mode only.
func (h *Handler) wouldStop(res *gate.Resolution) bool {
	if res == nil || res.Identity == nil || res.Caller == nil {
		return false
	}
	if h.Enforce == "required" {
		return true
	}
	var enabled bool
	err := h.gate.Store.View(func(tx store.Tx) error {
		u, err := account.LoadUser(tx, res.Caller.UserID)
		if err == nil {
			enabled = u.Enabled()
		}
		return err
	})
	return err == nil && enabled
}
