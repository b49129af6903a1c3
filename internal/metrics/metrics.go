// Package metrics defines the module's Prometheus counters. It takes a
// prometheus.Registerer, so it needs no Caddy import: the Caddy glue
// passes the registry of its config.
package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Gate decisions, the values of the decision label.
const (
	// DecisionPass: the request went on without a verified session (no
	// user, or a user without 2FA where enrolment is optional).
	DecisionPass = "pass"
	// DecisionVerified: the request went on with a verified session.
	DecisionVerified = "verified"
	// DecisionChallenge: the user must pass a second factor first.
	DecisionChallenge = "challenge"
	// DecisionEnroll: the user must set up 2FA first.
	DecisionEnroll = "enroll"
	// DecisionReport: report mode let through a request it would stop.
	DecisionReport = "report"
	// DecisionError: the gate failed (store or identity source) or
	// rejected the credential.
	DecisionError = "error"
)

// Outcomes of a second factor, the values of the outcome label of
// caddy_twofactor_second_factor_total.
const (
	OutcomeSuccess   = "success"
	OutcomeFailure   = "failure"
	OutcomeThrottled = "throttled"
)

// Outcomes of a mail, the values of the outcome label of
// caddy_twofactor_mail_total.
const (
	MailSent   = "sent"
	MailFailed = "failed"
)

// Mail kinds, the values of the kind label of caddy_twofactor_mail_total.
const (
	MailKindCode   = "code"
	MailKindNotice = "notice"
)

// decisions lists every decision, so each has a series from the start.
var decisions = []string{DecisionPass, DecisionVerified, DecisionChallenge, DecisionEnroll,
	DecisionReport, DecisionError}

// Metrics holds the module's counters in one registry. A nil *Metrics is
// valid and counts nothing, so code and tests without a registry need no
// checks. It is safe for concurrent use.
type Metrics struct {
	gateDecisions *prometheus.CounterVec
	secondFactors *prometheus.CounterVec
	mails         *prometheus.CounterVec
	// decisionCounters are the series of gateDecisions by decision, looked
	// up once: GateDecision runs on every request for the app.
	decisionCounters map[string]prometheus.Counter
}

// Register creates the counters in reg, or reuses the ones already there:
// Caddy gives every config its own registry, and several handlers of one
// config register into the same one.
func Register(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		gateDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "twofactor",
			Name:      "gate_decisions_total",
			Help:      "Requests for the app that the twofactor gate decided, by decision.",
		}, []string{"decision"}),
		secondFactors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "twofactor",
			Name:      "second_factor_total",
			Help:      "Second factor checks, by method and outcome.",
		}, []string{"method", "outcome"}),
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "twofactor",
			Name:      "mail_total",
			Help:      "Mails the twofactor module tried to send, by kind and outcome.",
		}, []string{"kind", "outcome"}),
	}
	var err error
	if m.gateDecisions, err = register(reg, m.gateDecisions); err != nil {
		return nil, err
	}
	if m.secondFactors, err = register(reg, m.secondFactors); err != nil {
		return nil, err
	}
	if m.mails, err = register(reg, m.mails); err != nil {
		return nil, err
	}
	m.decisionCounters = make(map[string]prometheus.Counter, len(decisions))
	for _, d := range decisions {
		m.decisionCounters[d] = m.gateDecisions.WithLabelValues(d)
	}
	return m, nil
}

// register registers c in reg and returns it, or returns the collector
// that reg already holds under the same description.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("registering twofactor metrics: %v", err)
}

// GateDecision counts one decision of the gate, one of the Decision*
// values.
func (m *Metrics) GateDecision(decision string) {
	if m == nil {
		return
	}
	if c, ok := m.decisionCounters[decision]; ok {
		c.Inc()
		return
	}
	m.gateDecisions.WithLabelValues(decision).Inc()
}

// SecondFactor counts one check of a second factor: method is totp,
// emailOtp or recoveryCode, outcome one of the Outcome* values.
func (m *Metrics) SecondFactor(method, outcome string) {
	if m == nil {
		return
	}
	m.secondFactors.WithLabelValues(method, outcome).Inc()
}

// Mail counts one mail: kind is MailKindCode or MailKindNotice, outcome
// MailSent or MailFailed.
func (m *Metrics) Mail(kind, outcome string) {
	if m == nil {
		return
	}
	m.mails.WithLabelValues(kind, outcome).Inc()
}
