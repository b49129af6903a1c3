package metrics

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// counters gathers reg and returns the value of every series of the
// counter name, by its labels as "name=value,…" in label order.
func counters(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	values := map[string]float64{}
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, metric := range family.GetMetric() {
			var labels []string
			for _, pair := range metric.GetLabel() {
				labels = append(labels, pair.GetName()+"="+pair.GetValue())
			}
			values[strings.Join(labels, ",")] = metric.GetCounter().GetValue()
		}
	}
	return values
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := Register(reg)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	m.GateDecision(DecisionChallenge)
	m.GateDecision(DecisionChallenge)
	m.GateDecision(DecisionVerified)
	m.SecondFactor("totp", OutcomeFailure)
	m.SecondFactor("totp", OutcomeSuccess)
	m.Mail(MailKindCode, MailFailed)

	tests := []struct {
		metric string
		series string
		want   float64
	}{
		{"caddy_twofactor_gate_decisions_total", "decision=challenge", 2},
		{"caddy_twofactor_gate_decisions_total", "decision=verified", 1},
		{"caddy_twofactor_gate_decisions_total", "decision=pass", 0},
		{"caddy_twofactor_second_factor_total", "method=totp,outcome=failure", 1},
		{"caddy_twofactor_second_factor_total", "method=totp,outcome=success", 1},
		{"caddy_twofactor_mail_total", "kind=code,outcome=failed", 1},
	}
	for _, tt := range tests {
		values := counters(t, reg, tt.metric)
		got, ok := values[tt.series]
		if !ok {
			t.Errorf("%s{%s} missing; series: %v", tt.metric, tt.series, values)
			continue
		}
		if got != tt.want {
			t.Errorf("%s{%s} = %v, want %v", tt.metric, tt.series, got, tt.want)
		}
	}
}

func TestMetricsDecisionsFromStart(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if _, err := Register(reg); err != nil {
		t.Fatalf("Register: %v", err)
	}
	values := counters(t, reg, "caddy_twofactor_gate_decisions_total")
	got := slices.Sorted(maps.Keys(values))
	want := []string{"decision=challenge", "decision=enroll", "decision=error", "decision=pass",
		"decision=report", "decision=verified"}
	if !slices.Equal(got, want) {
		t.Errorf("series before any count = %v, want %v", got, want)
	}
}

func TestMetricsRegisterTwice(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	first, err := Register(reg)
	if err != nil {
		t.Fatalf("first Register: %v", err)
	}
	second, err := Register(reg)
	if err != nil {
		t.Fatalf("second Register into the same registry: %v", err)
	}
	first.GateDecision(DecisionPass)
	second.GateDecision(DecisionPass)
	got := counters(t, reg, "caddy_twofactor_gate_decisions_total")["decision=pass"]
	if got != 2 {
		t.Errorf("pass counter after one count through each = %v, want 2 (one shared counter)", got)
	}
}

func TestMetricsRegisterConflict(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	// Another collector under the same name, with other labels.
	other := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "caddy_twofactor_mail_total", Help: "other",
	}, []string{"queue"})
	reg.MustRegister(other)
	_, err := Register(reg)
	if err == nil {
		t.Fatal("Register beside a conflicting collector succeeded, want an error")
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		t.Errorf("Register error %v passes for AlreadyRegisteredError, want a conflict", err)
	}
}

func TestMetricsNil(t *testing.T) {
	var m *Metrics
	// A nil *Metrics counts nothing and must not panic.
	m.GateDecision(DecisionPass)
	m.SecondFactor("totp", OutcomeSuccess)
	m.Mail(MailKindNotice, MailSent)
}
