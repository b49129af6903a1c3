package guard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

func resetSend(address, ip string) *http.Request {
	r := request(http.MethodPost, "/user/password/reset/send", fmt.Sprintf(`{"email":%q}`, address))
	r.RemoteAddr = ip
	return r
}

func TestResetSendPerAddress(t *testing.T) {
	f := newFixture(t)
	wantStatus(t, f.serve(resetSend("alice@example.com", "192.0.2.1:1")), http.StatusOK)

	w := f.serve(resetSend(" ALICE@example.com", "192.0.2.2:1"))
	wantError(t, w, http.StatusTooManyRequests, CodeTooManyResetMailAttempts)
	if got := w.Header().Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
	wantStatus(t, f.serve(resetSend("bob@example.com", "192.0.2.1:1")), http.StatusOK)

	f.clock.Advance(time.Minute)
	wantStatus(t, f.serve(resetSend("alice@example.com", "192.0.2.1:1")), http.StatusOK)
	if got := len(f.app.got("/user/password/reset/send")); got != 3 {
		t.Errorf("app got %d sends, want 3", got)
	}
}

func TestResetSendPerClient(t *testing.T) {
	f := newFixture(t)
	for i := range resetMailsPerHour {
		// Addresses in one IPv6 /64 share the client limit.
		ip := fmt.Sprintf("[2001:db8::%x]:1", i+1)
		wantStatus(t, f.serve(resetSend(fmt.Sprintf("user%d@example.com", i), ip)), http.StatusOK)
	}
	w := f.serve(resetSend("last@example.com", "[2001:db8::ffff]:1"))
	wantError(t, w, http.StatusTooManyRequests, CodeTooManyResetMailAttempts)

	// The refused send took no slot of its address.
	wantStatus(t, f.serve(resetSend("last@example.com", "[2001:db8:0:1::1]:1")), http.StatusOK)
	// The other default path shares the limits.
	r := request(http.MethodPost, "/v1/auth/forgot-password", `{"email":"x@example.com"}`)
	r.RemoteAddr = "[2001:db8::1]:1"
	wantError(t, f.serve(r), http.StatusTooManyRequests, CodeTooManyResetMailAttempts)

	f.clock.Advance(time.Hour)
	wantStatus(t, f.serve(resetSend("later@example.com", "[2001:db8::1]:1")), http.StatusOK)
}

func TestResetSendMissingEmail(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.serve(request(http.MethodPost, "/user/password/reset/send", `{}`)),
		http.StatusBadRequest, "email is required")
	if got := len(f.app.got("/user/password/reset/send")); got != 0 {
		t.Errorf("app got %d sends, want 0", got)
	}
}

func validate(address, code string) *http.Request {
	return request(http.MethodPost, "/user/password/reset/validate",
		fmt.Sprintf(`{"email":%q,"code":%q}`, address, code))
}

func TestResetValidateThrottle(t *testing.T) {
	f := newFixture(t)
	f.app.setCode("alice@example.com", "654321")
	for i := range 3 {
		wantStatus(t, f.serve(validate("alice@example.com", fmt.Sprint(100000+i))), http.StatusUnauthorized)
	}
	w := f.serve(validate("Alice@Example.com", "654321"))
	wantError(t, w, http.StatusTooManyRequests, CodeTooManyOTPChecks)
	if got := len(f.app.got("/user/password/reset/validate")); got != 3 {
		t.Errorf("app got %d checks, want 3: the throttled one must not reach it", got)
	}
	// Another address has a counter of its own.
	wantStatus(t, f.serve(validate("bob@example.com", "000000")), http.StatusUnauthorized)

	f.clock.Advance(time.Second)
	wantStatus(t, f.serve(validate("alice@example.com", "654321")), http.StatusOK)
	// The success gave its slot back and reset the run of failures.
	wantStatus(t, f.serve(validate("alice@example.com", "000000")), http.StatusUnauthorized)
	wantStatus(t, f.serve(validate("alice@example.com", "000001")), http.StatusUnauthorized)
}

func TestResetValidateConcurrent(t *testing.T) {
	f := newFixture(t)
	f.app.setCode("alice@example.com", "654321")
	results := make(chan int, 10)
	for i := range 10 {
		go func() {
			w := f.serveConcurrent(validate("alice@example.com", fmt.Sprint(200000+i)))
			results <- w
		}()
	}
	counts := map[int]int{}
	for range 10 {
		counts[<-results]++
	}
	if counts[http.StatusUnauthorized] != 3 || counts[http.StatusTooManyRequests] != 7 {
		t.Errorf("statuses %v, want 3 × 401 and 7 × 429", counts)
	}
}

func resetPassword(body string) *http.Request {
	return request(http.MethodPut, "/user/password/otp", body)
}

func TestResetPasswordNoSecondFactor(t *testing.T) {
	f := newFixture(t)
	f.app.setCode("carol@example.com", "111111")
	w := f.serve(resetPassword(`{"email":"carol@example.com","code":"111111","password":"new password"}`))
	wantStatus(t, w, http.StatusOK)
	if got := len(f.app.got("/user/password/otp")); got != 1 {
		t.Errorf("app got %d resets, want 1", got)
	}
	checks := f.app.got("/user/password/reset/validate")
	if len(checks) != 1 {
		t.Fatalf("app got %d code checks, want 1", len(checks))
	}
	if got := checks[0].body; got != `{"code":"111111","email":"carol@example.com"}` {
		t.Errorf("code check body %s, want the address and code only", got)
	}
}

func TestResetPasswordSecondFactor(t *testing.T) {
	f := newFixture(t)
	recovery := f.enroll("1", "alice@example.com")
	f.app.setCode("alice@example.com", "222222")
	token := f.token("1", "alice@example.com", "a")
	f.verify("1", token)
	body := `{"email":"alice@example.com","code":"222222","password":"new password"`

	w := f.serve(resetPassword(body + `}`))
	wantError(t, w, http.StatusUnauthorized, api.Code2FARequired)
	var got struct{ Methods []string }
	_ = json.Unmarshal(w.Body.Bytes(), &got)
	if strings.Join(got.Methods, ",") != "totp,recoveryCode" {
		t.Errorf("methods %v, want [totp recoveryCode]", got.Methods)
	}
	if n := len(f.app.got("/user/password/otp")); n != 0 {
		t.Errorf("app got %d resets without a second factor, want 0", n)
	}

	wrong := "000000"
	if wrong == f.totpCode("1", f.clock.Now()) {
		wrong = "000001"
	}
	wantError(t, f.serve(resetPassword(body+`,"totp":"`+wrong+`"}`)), http.StatusUnauthorized, api.CodeTOTPInvalid)
	wantError(t, f.serve(resetPassword(body+`,"totp":"12"}`)), http.StatusBadRequest, "")
	wantError(t, f.serve(resetPassword(body+`,"totp":"1","recoveryCode":"2"}`)), http.StatusBadRequest, "")

	if !f.verified("1", token) {
		t.Fatal("the session is not verified before the reset")
	}
	w = f.serve(resetPassword(body + `,"TOTP":"` + f.totpCode("1", f.clock.Now()) + `"}`))
	wantStatus(t, w, http.StatusOK)
	resets := f.app.got("/user/password/otp")
	if len(resets) != 1 {
		t.Fatalf("app got %d resets, want 1", len(resets))
	}
	if strings.Contains(strings.ToLower(resets[0].body), "totp") {
		t.Errorf("app got the second factor: %s", resets[0].body)
	}
	if f.verified("1", token) {
		t.Error("the session is still verified after the reset")
	}

	// A recovery code works once.
	f.clock.Advance(time.Second)
	wantStatus(t, f.serve(resetPassword(body+`,"recoveryCode":"`+recovery[0]+`"}`)), http.StatusOK)
	f.clock.Advance(time.Second)
	wantError(t, f.serve(resetPassword(body+`,"recoveryCode":"`+recovery[0]+`"}`)),
		http.StatusUnauthorized, api.CodeRecoveryCodeInvalid)
}

func TestResetPasswordTOTPStepUsed(t *testing.T) {
	f := newFixture(t)
	f.enroll("1", "alice@example.com")
	f.app.setCode("alice@example.com", "222222")
	code := f.totpCode("1", f.clock.Now())
	body := `{"email":"alice@example.com","code":"222222","password":"new password","totp":"` + code + `"}`
	wantStatus(t, f.serve(resetPassword(body)), http.StatusOK)
	wantError(t, f.serve(resetPassword(body)), http.StatusUnauthorized, api.CodeTOTPAlreadyUsed)

	// The reset's TOTP counter is not the login's.
	var u *account.User
	u, _ = f.guards.loadUser("1")
	if g := u.Guesses[account.MethodTOTP]; g != nil && g.Consecutive != 0 {
		t.Errorf("login TOTP counter has %d failures, want 0", g.Consecutive)
	}
}

func TestResetPasswordInvalidCode(t *testing.T) {
	f := newFixture(t)
	f.enroll("1", "alice@example.com")
	f.app.setCode("alice@example.com", "222222")
	known := f.serve(resetPassword(`{"email":"alice@example.com","code":"999999","password":"x","totp":"123456"}`))
	unknown := f.serve(resetPassword(`{"email":"nobody@example.com","code":"999999","password":"x","totp":"123456"}`))
	if known.Code != unknown.Code || known.Body.String() != unknown.Body.String() {
		t.Errorf("known address %d %s, unknown %d %s: want the same response",
			known.Code, known.Body, unknown.Code, unknown.Body)
	}
	wantStatus(t, known, http.StatusUnauthorized)
	for _, s := range f.app.got("/user/password/otp") {
		if strings.Contains(s.body, "totp") {
			t.Errorf("app got the second factor: %s", s.body)
		}
	}
}

func TestResetPasswordThrottle(t *testing.T) {
	f := newFixture(t)
	f.app.setCode("alice@example.com", "222222")
	for i := range 2 {
		wantStatus(t, f.serve(validate("alice@example.com", fmt.Sprint(300000+i))), http.StatusUnauthorized)
	}
	wantStatus(t, f.serve(resetPassword(`{"email":"alice@example.com","code":"1","password":"x"}`)),
		http.StatusUnauthorized)
	// Both routes count on the address's one counter.
	wantError(t, f.serve(resetPassword(`{"email":"alice@example.com","code":"222222","password":"x"}`)),
		http.StatusTooManyRequests, CodeTooManyOTPChecks)
}

func TestResetPasswordUnrecognisedCheck(t *testing.T) {
	validateRoute := Default(ResetValidate)
	validateRoute.Failure = Rule{Status: []int{403}}
	reset := Default(ResetPassword)
	f := newFixture(t, &validateRoute, &reset)
	w := f.serve(resetPassword(`{"email":"alice@example.com","code":"1","password":"x"}`))
	wantError(t, w, http.StatusBadGateway, CodeBadGateway)
	if n := len(f.app.got("/user/password/otp")); n != 0 {
		t.Errorf("app got %d resets, want 0 while the code check is not understood", n)
	}
}

func TestResetPasswordForm(t *testing.T) {
	f := newFixture(t)
	f.enroll("1", "alice@example.com")
	f.app.setCode("alice@example.com", "222222")
	r := request(http.MethodPut, "/user/password/otp",
		"email=alice%40example.com&code=222222&password=pw&totp="+f.totpCode("1", f.clock.Now()),
		"Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, f.serve(r), http.StatusOK)
	checks := f.app.got("/user/password/reset/validate")
	if len(checks) != 1 || checks[0].header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("code checks %v, want one form post", checks)
	}
	if got := f.app.got("/user/password/otp")[0].body; got != "email=alice%40example.com&code=222222&password=pw" {
		t.Errorf("app got %q, want the form without totp", got)
	}
}
