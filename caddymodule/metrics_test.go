package caddymodule

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
)

func TestDecisionLabel(t *testing.T) {
	h := startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	enrolUser(t, h, "alice")
	h.UIPath = DefaultUIPath
	h.gate = &gate.Gate{Store: h.sessions.Store}
	loggedIn := func(user string) *gate.Resolution {
		return &gate.Resolution{Caller: &api.Caller{UserID: user}, Identity: &identity.Identity{UserID: user}}
	}
	anonymous := &gate.Resolution{Caller: &api.Caller{}}

	tests := []struct {
		name     string
		mode     string
		enforce  string
		res      *gate.Resolution
		decision gate.Decision
		want     string
	}{
		{"verified", "enforce", "optional", loggedIn("alice"), gate.Decision{UserID: "alice"},
			metrics.DecisionVerified},
		{"anonymous", "enforce", "optional", anonymous, gate.Decision{}, metrics.DecisionPass},
		{"challenge json", "enforce", "optional", loggedIn("alice"),
			gate.Decision{Error: api.NewError(http.StatusUnauthorized, api.Code2FARequired)},
			metrics.DecisionChallenge},
		{"challenge page", "enforce", "optional", loggedIn("alice"),
			gate.Decision{Redirect: DefaultUIPath + "/challenge?next=%2F"}, metrics.DecisionChallenge},
		{"enroll json", "enforce", "required", loggedIn("bob"),
			gate.Decision{Error: api.NewError(http.StatusForbidden, api.CodeEnrollmentRequired)},
			metrics.DecisionEnroll},
		{"enroll page", "enforce", "required", loggedIn("bob"),
			gate.Decision{Redirect: DefaultUIPath + "/enroll?next=%2F"}, metrics.DecisionEnroll},
		{"store error", "enforce", "optional", loggedIn("alice"),
			gate.Decision{Error: api.NewError(http.StatusServiceUnavailable, api.CodeStoreUnavailable)},
			metrics.DecisionError},
		{"resolve error", "enforce", "optional", nil,
			gate.Decision{Error: api.NewError(http.StatusBadGateway, api.CodeIdentityUnavailable)},
			metrics.DecisionError},
		{"report enrolled", "report", "optional", loggedIn("alice"), gate.Decision{}, metrics.DecisionReport},
		{"report not enrolled", "report", "optional", loggedIn("bob"), gate.Decision{}, metrics.DecisionPass},
		{"report required", "report", "required", loggedIn("bob"), gate.Decision{}, metrics.DecisionReport},
		{"report anonymous", "report", "required", anonymous, gate.Decision{}, metrics.DecisionPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.Mode, h.Enforce = tt.mode, tt.enforce
			if got := h.decisionLabel(tt.res, tt.decision); got != tt.want {
				t.Errorf("decisionLabel = %q, want %q", got, tt.want)
			}
		})
	}
}
