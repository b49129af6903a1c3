package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/metrics"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

func (f *fixture) auditEvents(userID string) []string {
	f.t.Helper()
	var events []account.AuditEvent
	err := f.server.Store.View(func(tx store.Tx) error {
		var err error
		events, err = account.ListAudit(tx, account.AuditFilter{User: userID})
		return err
	})
	if err != nil {
		f.t.Fatalf("ListAudit: %v", err)
	}
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.Event + "/" + e.Method + "/" + e.Outcome
	}
	return names
}

func TestAuditOfTOTPLifecycle(t *testing.T) {
	f := newFixture(t)
	c := caller("alice", "session-a")
	secret, _ := f.enroll(c)

	f.clock.Advance(30 * time.Second)
	wrong := fmt.Sprintf(`{"totp":%q}`, wrongCode(secret, f.clock.Now()))
	wantError(t, f.do(http.MethodPost, "/totp/authenticate", c, wrong), http.StatusUnauthorized, CodeTOTPInvalid)
	sudo := f.authenticate(c, secret)
	wantOK(t, f.do(http.MethodDelete, "/totp", f.withSudo(c, sudo), ""), nil)

	// Events of one instant (enable verifies the session too) keep no
	// order among themselves, so the lists are compared sorted.
	events := f.auditEvents("alice")
	slices.Sort(events)
	got := strings.Join(events, " ")
	want := strings.Join([]string{
		"second_factor_failed/totp/failure",
		"second_factor_passed/totp/success",
		"second_factor_passed/totp/success",
		"totp_disabled/totp/success",
		"totp_enabled/totp/success",
	}, " ")
	if got != want {
		t.Errorf("audit events = %s, want %s", got, want)
	}
}

func TestAuditSkipsThrottledGuesses(t *testing.T) {
	f := newFixture(t)
	c := caller("alice", "session-a")
	secret, _ := f.enroll(c)
	// Three wrong guesses in a row are free; the fourth must wait.
	for range 3 {
		wrong := fmt.Sprintf(`{"totp":%q}`, wrongCode(secret, f.clock.Now()))
		f.do(http.MethodPost, "/totp/authenticate", c, wrong)
	}
	failed := 0
	for _, e := range f.auditEvents("alice") {
		if strings.HasPrefix(e, account.AuditSecondFactorFailed) {
			failed++
		}
	}
	if failed != 3 {
		t.Fatalf("audited failures = %d, want 3 before the throttle", failed)
	}
	wrong := fmt.Sprintf(`{"totp":%q}`, wrongCode(secret, f.clock.Now()))
	wantError(t, f.do(http.MethodPost, "/totp/authenticate", c, wrong), http.StatusTooManyRequests,
		CodeTooManyTOTPChecks)
	after := 0
	for _, e := range f.auditEvents("alice") {
		if strings.HasPrefix(e, account.AuditSecondFactorFailed) {
			after++
		}
	}
	if after != failed {
		t.Errorf("audited failures after a throttled guess = %d, want %d", after, failed)
	}
}

func TestMetricsCountSecondFactors(t *testing.T) {
	f := newFixture(t)
	registry := prometheus.NewRegistry()
	m, err := metrics.Register(registry)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	f.server.Metrics = m
	c := caller("alice", "session-a")
	secret, _ := f.enroll(c)
	f.authenticate(c, secret)

	families, err := registry.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var success float64
	for _, family := range families {
		if family.GetName() != "caddy_twofactor_second_factor_total" {
			continue
		}
		for _, metric := range family.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == "totp" && labels["outcome"] == "success" {
				success = metric.GetCounter().GetValue()
			}
		}
	}
	if success != 1 {
		t.Errorf("second factor successes counted = %v, want 1 (the authenticate; enable is no check of an active method)", success)
	}
}
