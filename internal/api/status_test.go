package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStatusNewUser(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodGet, "", caller("alice", "key-a"), "")
	wantOK(t, w, nil)
	want := `{"enabled":false,"totp":null,"emailOtp":null,"recoveryCodes":null}` + "\n"
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestStatusPendingTOTP(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	f.setup(alice)
	w := f.do(http.MethodGet, "", alice, "")
	want := `{"enabled":false,"totp":null,"emailOtp":null,"recoveryCodes":null}` + "\n"
	if got := w.Body.String(); got != want {
		t.Errorf("body with a pending secret = %s, want %s", got, want)
	}
}

type statusBody struct {
	Enabled bool `json:"enabled"`
	TOTP    *struct {
		CompletedAt time.Time `json:"completedAt"`
	} `json:"totp"`
	EmailOTP      *struct{} `json:"emailOtp"`
	RecoveryCodes *struct {
		CompletedAt time.Time `json:"completedAt"`
		Remaining   int       `json:"remaining"`
	} `json:"recoveryCodes"`
}

func TestStatusEnabled(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	_, codes := f.enroll(alice)
	f.clock.Advance(time.Minute)
	wantOK(t, f.do(http.MethodPost, "/recovery-code/authenticate", alice, `{"recoveryCode":"`+codes[3]+`"}`), nil)

	var status statusBody
	wantOK(t, f.do(http.MethodGet, "", alice, ""), &status)
	if !status.Enabled {
		t.Error("enabled = false, want true")
	}
	if status.TOTP == nil || !status.TOTP.CompletedAt.Equal(t0) {
		t.Errorf("totp = %+v, want completedAt %v", status.TOTP, t0)
	}
	if status.EmailOTP != nil {
		t.Errorf("emailOtp = %+v, want null", status.EmailOTP)
	}
	if status.RecoveryCodes == nil {
		t.Fatal("recoveryCodes = null, want the set")
	}
	if status.RecoveryCodes.Remaining != 9 {
		t.Errorf("remaining = %d, want 9", status.RecoveryCodes.Remaining)
	}
	if !status.RecoveryCodes.CompletedAt.Equal(t0) {
		t.Errorf("recoveryCodes.completedAt = %v, want %v", status.RecoveryCodes.CompletedAt, t0)
	}
}

func TestStatusTimesInUTC(t *testing.T) {
	f := newFixture(t)
	f.clock.Set(t0.In(time.FixedZone("UTC+2", 2*60*60)))
	alice := caller("alice", "key-a")
	f.enroll(alice)

	w := f.do(http.MethodGet, "", alice, "")
	want := `"completedAt":"2030-01-02T03:04:00Z"`
	if got := w.Body.String(); strings.Count(got, want) != 2 {
		t.Errorf("body = %s, want both times written as %s", got, want)
	}
}

func TestUserOfCaller(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	f.enroll(alice)

	u, e := f.server.User(alice)
	if e != nil {
		t.Fatalf("User: %v", e)
	}
	if u.ID != "alice" || !u.Enabled() {
		t.Errorf("User = %+v, want alice with 2FA on", u)
	}
	if other := f.user("bob"); other.Enabled() {
		t.Errorf("User(bob) = %+v, want 2FA off", other)
	}
}
