package guard

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

func oldPassword(token, sudo, password string) *http.Request {
	r := request(http.MethodPut, "/user/password/old-password",
		`{"oldPassword":"`+password+`","newPassword":"new password"}`,
		"Authorization", "Bearer "+token)
	if sudo != "" {
		r.Header.Set("X-Sudo-Token", sudo)
	}
	return r
}

func TestOldPasswordSudo(t *testing.T) {
	f := newFixture(t)
	f.enroll("1", "alice@example.com")
	token := f.token("1", "alice@example.com", "a")
	sudo := f.verify("1", token)

	wantError(t, f.serve(oldPassword(token, "", "right")), http.StatusUnauthorized, api.CodeSudoTokenRequired)
	if n := len(f.app.got("/user/password/old-password")); n != 0 {
		t.Errorf("app got %d changes without a sudo token, want 0", n)
	}

	wantStatus(t, f.serve(oldPassword(token, sudo, "right")), http.StatusOK)
	got := f.app.got("/user/password/old-password")
	if len(got) != 1 {
		t.Fatalf("app got %d changes, want 1", len(got))
	}
	if v := got[0].header.Get("X-Sudo-Token"); v != "" {
		t.Errorf("app got X-Sudo-Token %q, want none", v)
	}

	// A sudo token of another session is no proof for this one.
	other := f.token("1", "alice@example.com", "b")
	f.verify("1", other)
	wantError(t, f.serve(oldPassword(other, sudo, "right")), http.StatusUnauthorized, api.CodeSudoTokenInvalid)
}

func TestOldPasswordWithout2FA(t *testing.T) {
	f := newFixture(t)
	token := f.token("3", "carol@example.com", "c")
	wantStatus(t, f.serve(oldPassword(token, "", "right")), http.StatusOK)
	// Anonymous requests reach the app, which refuses them itself.
	r := request(http.MethodPut, "/user/password/old-password", `{"oldPassword":"right"}`)
	wantStatus(t, f.serve(r), http.StatusOK)
}

func TestOldPasswordThrottle(t *testing.T) {
	f := newFixture(t)
	token := f.token("3", "carol@example.com", "c")
	for range 3 {
		wantStatus(t, f.serve(oldPassword(token, "", "wrong")), http.StatusUnauthorized)
	}
	wantError(t, f.serve(oldPassword(token, "", "right")), http.StatusTooManyRequests,
		CodeTooManyFailedPasswordChecks)
	if n := len(f.app.got("/user/password/old-password")); n != 3 {
		t.Errorf("app got %d checks, want 3", n)
	}

	f.clock.Advance(time.Second)
	wantStatus(t, f.serve(oldPassword(token, "", "right")), http.StatusOK)
	// The success gave the slot back and ended the run of failures.
	wantStatus(t, f.serve(oldPassword(token, "", "wrong")), http.StatusUnauthorized)
	wantStatus(t, f.serve(oldPassword(token, "", "wrong")), http.StatusUnauthorized)
}

func TestOldPasswordRevokesOthers(t *testing.T) {
	f := newFixture(t)
	f.enroll("1", "alice@example.com")
	mine := f.token("1", "alice@example.com", "a")
	other := f.token("1", "alice@example.com", "b")
	sudo := f.verify("1", mine)
	f.verify("1", other)

	wantStatus(t, f.serve(oldPassword(mine, sudo, "wrong")), http.StatusUnauthorized)
	if !f.verified("1", other) {
		t.Fatal("a failed change revoked the other session")
	}
	wantStatus(t, f.serve(oldPassword(mine, sudo, "right")), http.StatusOK)
	if f.verified("1", other) {
		t.Error("the other session is still verified after the change")
	}
	if !f.verified("1", mine) {
		t.Error("the caller's session is no longer verified after the change")
	}
	// The caller's sudo token still works.
	wantStatus(t, f.serve(oldPassword(mine, sudo, "right")), http.StatusOK)
}

func emailInitiate(token, sudo string) *http.Request {
	r := request(http.MethodPost, "/user/email/initiate", `{"email":"new@example.com"}`,
		"Authorization", "Bearer "+token)
	if sudo != "" {
		r.Header.Set("X-Sudo-Token", sudo)
	}
	return r
}

func TestEmailInitiate(t *testing.T) {
	f := newFixture(t)
	f.enroll("1", "alice@example.com")
	token := f.token("1", "alice@example.com", "a")
	sudo := f.verify("1", token)

	wantError(t, f.serve(emailInitiate(token, "")), http.StatusUnauthorized, api.CodeSudoTokenRequired)
	wantStatus(t, f.serve(emailInitiate(token, sudo)), http.StatusOK)
	w := f.serve(emailInitiate(token, sudo))
	wantError(t, w, http.StatusTooManyRequests, CodeTooManyTransferAttempts)
	if got := w.Header().Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
	f.clock.Advance(time.Minute)
	wantStatus(t, f.serve(emailInitiate(token, sudo)), http.StatusOK)
	if n := len(f.app.got("/user/email/initiate")); n != 2 {
		t.Errorf("app got %d starts, want 2", n)
	}
}

func TestEmailChangeForgets(t *testing.T) {
	f := newFixture(t)
	token := f.token("3", "carol@example.com", "c")
	change := func(code string) *http.Request {
		return request(http.MethodPut, "/user/email", `{"code":"`+code+`"}`, "Authorization", "Bearer "+token)
	}
	wantStatus(t, f.serve(change("000000")), http.StatusUnauthorized)
	if len(f.forgot) != 0 {
		t.Errorf("a failed change dropped the cached identity")
	}
	wantStatus(t, f.serve(change("123456")), http.StatusOK)
	if len(f.forgot) != 1 || f.forgot[0] != "Bearer "+token {
		t.Errorf("Forget saw %v, want the caller's credential once", f.forgot)
	}
}
