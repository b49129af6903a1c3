package main

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func TestSendResetCode(t *testing.T) {
	for _, path := range []string{"/user/password/reset/send", "/v1/auth/forgot-password"} {
		t.Run(path, func(t *testing.T) {
			app := newTestApp(t, nil)

			resp := app.request("POST", path, map[string]string{"email": "  Alice@Example.COM "}, nil)
			if resp.Status != http.StatusOK {
				t.Errorf("known address: status = %d, want 200", resp.Status)
			}
			if got := strings.TrimSpace(resp.Body); got != "{}" {
				t.Errorf("known address: body = %q, want {}", got)
			}
			codes := app.mailedCodes()
			if len(codes) != 1 {
				t.Fatalf("mailed %d codes, want 1: %+v", len(codes), codes)
			}
			if codes[0].Kind != "reset" || codes[0].Email != "alice@example.com" {
				t.Errorf("mail = %+v, want kind reset to alice@example.com", codes[0])
			}
			if !sixDigits.MatchString(codes[0].Code) {
				t.Errorf("code = %q, want 6 digits", codes[0].Code)
			}

			resp = app.request("POST", path, map[string]string{"email": "nobody@example.com"}, nil)
			if resp.Status != http.StatusOK {
				t.Errorf("unknown address: status = %d, want 200", resp.Status)
			}
			if got := strings.TrimSpace(resp.Body); got != "{}" {
				t.Errorf("unknown address: body = %q, want {}", got)
			}
			if got := len(app.mailedCodes()); got != 1 {
				t.Errorf("mailed %d codes after an unknown address, want 1", got)
			}
		})
	}
}

func TestResetCodesFileMode(t *testing.T) {
	app := newTestApp(t, nil)
	app.request("POST", "/user/password/reset/send", map[string]string{"email": "bob@example.com"}, nil)

	info, err := os.Stat(app.codesFile)
	if err != nil {
		t.Fatalf("stat codes file: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("codes file mode = %o, want 600", got)
	}
}

func TestResetCodeLoggedWithoutFile(t *testing.T) {
	app := newTestApp(t, func(cfg *config) { cfg.ResetCodesFile = "" })
	app.request("POST", "/user/password/reset/send", map[string]string{"email": "bob@example.com"}, nil)

	logs := app.logs.String()
	if !regexp.MustCompile(`kind=reset email=bob@example.com code=[0-9]{6}`).MatchString(logs) {
		t.Errorf("log lacks the mailed code:\n%s", logs)
	}
}

func TestValidateResetCode(t *testing.T) {
	app := newTestApp(t, nil)
	app.request("POST", "/user/password/reset/send", map[string]string{"email": "bob@example.com"}, nil)
	code := app.lastCode("reset", "bob@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}

	tests := []struct {
		name   string
		email  string
		code   string
		status int
		body   string
	}{
		{"valid", "bob@example.com", code, 200, `{"valid":true}`},
		{"valid again", " BOB@example.com", code, 200, `{"valid":true}`},
		{"wrong code", "bob@example.com", wrong, 401, `{"error":"invalid or expired code"}`},
		{"other address", "alice@example.com", code, 401, `{"error":"invalid or expired code"}`},
		{"unknown address", "nobody@example.com", code, 401, `{"error":"invalid or expired code"}`},
		{"empty code", "bob@example.com", "", 401, `{"error":"invalid or expired code"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := app.request("POST", "/user/password/reset/validate",
				map[string]string{"email": tt.email, "code": tt.code}, nil)
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.status)
			}
			if got := strings.TrimSpace(resp.Body); got != tt.body {
				t.Errorf("body = %q, want %q", got, tt.body)
			}
		})
	}
}

func TestResetCodeExpiresAndIsReplaced(t *testing.T) {
	app := newTestApp(t, nil)
	send := map[string]string{"email": "bob@example.com"}
	validate := func(code string) int {
		body := map[string]string{"email": "bob@example.com", "code": code}
		return app.request("POST", "/user/password/reset/validate", body, nil).Status
	}

	app.request("POST", "/user/password/reset/send", send, nil)
	first := app.lastCode("reset", "bob@example.com")
	app.clock.Advance(15*time.Minute - time.Second)
	if got := validate(first); got != http.StatusOK {
		t.Errorf("before expiry: status = %d, want 200", got)
	}
	app.clock.Advance(time.Second)
	if got := validate(first); got != http.StatusUnauthorized {
		t.Errorf("at expiry: status = %d, want 401", got)
	}

	app.request("POST", "/user/password/reset/send", send, nil)
	second := app.lastCode("reset", "bob@example.com")
	app.request("POST", "/user/password/reset/send", send, nil)
	third := app.lastCode("reset", "bob@example.com")
	if second != third && validate(second) != http.StatusUnauthorized {
		t.Errorf("replaced code still valid")
	}
	if got := validate(third); got != http.StatusOK {
		t.Errorf("newest code: status = %d, want 200", got)
	}
}

func TestResetPassword(t *testing.T) {
	app := newTestApp(t, nil)
	session, remember := app.formLogin("carol", "carol-password")
	tokens, _ := app.apiLogin("carol", "carol-password")
	otherUser, _ := app.formLogin("alice", "alice-password")

	app.request("POST", "/user/password/reset/send", map[string]string{"email": "carol@example.com"}, nil)
	code := app.lastCode("reset", "carol@example.com")

	short := map[string]string{"email": "carol@example.com", "code": code, "password": "short"}
	if resp := app.request("PUT", "/user/password/otp", short, nil); resp.Status != http.StatusBadRequest {
		t.Errorf("short password: status = %d, want 400", resp.Status)
	}

	body := map[string]string{"email": "carol@example.com", "code": code, "password": "new-carol-password"}
	resp := app.request("PUT", "/user/password/otp", body, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.Status, resp.Body)
	}
	if got := strings.TrimSpace(resp.Body); got != "{}" {
		t.Errorf("body = %q, want {}", got)
	}

	if resp := app.request("PUT", "/user/password/otp", body, nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("code reused: status = %d, want 401", resp.Status)
	}
	for _, c := range []*http.Cookie{session, remember} {
		if resp := app.request("GET", "/api/me", nil, []*http.Cookie{c}); resp.Status != http.StatusUnauthorized {
			t.Errorf("%s cookie after reset: status = %d, want 401", c.Name, resp.Status)
		}
	}
	refresh := map[string]string{"refreshToken": tokens.RefreshToken}
	if resp := app.request("POST", "/api/refresh", refresh, nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("refresh after reset: status = %d, want 401", resp.Status)
	}
	if resp := app.request("GET", "/api/me", nil, []*http.Cookie{otherUser}); resp.Status != http.StatusOK {
		t.Errorf("other user's session after reset: status = %d, want 200", resp.Status)
	}

	login := map[string]string{"username": "carol", "password": "carol-password"}
	if resp := app.request("POST", "/api/login", login, nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("old password: status = %d, want 401", resp.Status)
	}
	app.apiLogin("carol", "new-carol-password")
}

func TestResetPasswordFailure(t *testing.T) {
	app := newTestApp(t, nil)
	app.request("POST", "/user/password/reset/send", map[string]string{"email": "bob@example.com"}, nil)
	code := app.lastCode("reset", "bob@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}

	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"wrong code", map[string]string{"email": "bob@example.com", "code": wrong, "password": "new-password"}, 401},
		{"other address", map[string]string{"email": "alice@example.com", "code": code, "password": "new-password"}, 401},
		{"no code", map[string]string{"email": "bob@example.com", "password": "new-password"}, 401},
		{"malformed JSON", `{"email":`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := app.request("PUT", "/user/password/otp", tt.body, nil)
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.status)
			}
		})
	}
	app.apiLogin("bob", "bob-password")
}

func TestChangePassword(t *testing.T) {
	app := newTestApp(t, nil)
	session, _ := app.formLogin("bob", "bob-password")
	tokens, _ := app.apiLogin("bob", "bob-password")

	tests := []struct {
		name    string
		cookies []*http.Cookie
		headers []string
		old     string
		new     string
		status  int
	}{
		{"anonymous", nil, nil, "bob-password", "bob-password-2", 401},
		{"wrong old password", []*http.Cookie{session}, nil, "alice-password", "bob-password-2", 401},
		{"short new password", []*http.Cookie{session}, nil, "bob-password", "short", 400},
		{"cookie", []*http.Cookie{session}, nil, "bob-password", "bob-password-2", 200},
		{"bearer", nil, bearer(tokens.AccessToken), "bob-password-2", "bob-password-3", 200},
		{"stale old password", []*http.Cookie{session}, nil, "bob-password", "bob-password-4", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]string{"oldPassword": tt.old, "newPassword": tt.new}
			resp := app.request("PUT", "/user/password/old-password", body, tt.cookies, tt.headers...)
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
		})
	}

	if resp := app.request("GET", "/api/me", nil, []*http.Cookie{session}); resp.Status != http.StatusOK {
		t.Errorf("session after change: status = %d, want 200", resp.Status)
	}
	app.apiLogin("bob", "bob-password-3")
}

func TestChangeEmail(t *testing.T) {
	app := newTestApp(t, nil)
	session, _ := app.formLogin("alice", "alice-password")
	cookies := []*http.Cookie{session}

	resp := app.request("POST", "/user/email/initiate", map[string]string{"email": " Alice.New@Example.com"}, cookies)
	if resp.Status != http.StatusOK {
		t.Fatalf("initiate: status = %d, want 200; body %s", resp.Status, resp.Body)
	}
	if got := strings.TrimSpace(resp.Body); got != "{}" {
		t.Errorf("initiate: body = %q, want {}", got)
	}
	code := app.lastCode("email-transfer", "alice.new@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}

	if resp := app.request("PUT", "/user/email", map[string]string{"code": wrong}, cookies); resp.Status != http.StatusUnauthorized {
		t.Errorf("wrong code: status = %d, want 401", resp.Status)
	}
	if resp := app.request("PUT", "/user/email", map[string]string{"code": code}, nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: status = %d, want 401", resp.Status)
	}
	resp = app.request("PUT", "/user/email", map[string]string{"code": code}, cookies)
	if resp.Status != http.StatusOK {
		t.Fatalf("change: status = %d, want 200; body %s", resp.Status, resp.Body)
	}
	if resp := app.request("PUT", "/user/email", map[string]string{"code": code}, cookies); resp.Status != http.StatusUnauthorized {
		t.Errorf("code reused: status = %d, want 401", resp.Status)
	}

	var me profile
	decodeJSON(t, app.request("GET", "/api/me", nil, cookies).Body, &me)
	if me.Email != "alice.new@example.com" {
		t.Errorf("email = %q, want alice.new@example.com", me.Email)
	}
	tokens, _ := app.apiLogin("alice", "alice-password")
	if claims := accessClaimsOf(t, app, tokens.AccessToken); claims.Email != "alice.new@example.com" {
		t.Errorf("email claim = %q, want alice.new@example.com", claims.Email)
	}

	app.request("POST", "/user/password/reset/send", map[string]string{"email": "alice@example.com"}, nil)
	app.request("POST", "/user/password/reset/send", map[string]string{"email": "alice.new@example.com"}, nil)
	var resetMails []mailedCode
	for _, c := range app.mailedCodes() {
		if c.Kind == mailKindReset {
			resetMails = append(resetMails, c)
		}
	}
	if len(resetMails) != 1 || resetMails[0].Email != "alice.new@example.com" {
		t.Errorf("reset mails = %+v, want one to alice.new@example.com", resetMails)
	}
}

func TestInitiateEmailChangeFailure(t *testing.T) {
	app := newTestApp(t, nil)
	session, _ := app.formLogin("bob", "bob-password")
	cookies := []*http.Cookie{session}

	tests := []struct {
		name    string
		cookies []*http.Cookie
		body    any
		status  int
	}{
		{"anonymous", nil, map[string]string{"email": "bob2@example.com"}, 401},
		{"taken by other", cookies, map[string]string{"email": "Carol@example.com"}, 409},
		{"own address", cookies, map[string]string{"email": "bob@example.com"}, 409},
		{"no at sign", cookies, map[string]string{"email": "bob.example.com"}, 400},
		{"empty", cookies, map[string]string{"email": ""}, 400},
		{"two at signs", cookies, map[string]string{"email": "bob@x@example.com"}, 400},
		{"malformed JSON", cookies, "[", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := app.request("POST", "/user/email/initiate", tt.body, tt.cookies)
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
		})
	}
	if codes := app.mailedCodes(); len(codes) != 0 {
		t.Errorf("mailed %+v, want nothing", codes)
	}
}

func TestChangeEmailFailure(t *testing.T) {
	app := newTestApp(t, nil)
	bob, _ := app.formLogin("bob", "bob-password")
	carol, _ := app.formLogin("carol", "carol-password")

	app.request("POST", "/user/email/initiate", map[string]string{"email": "shared@example.com"}, []*http.Cookie{bob})
	bobCode := app.lastCode("email-transfer", "shared@example.com")
	app.request("POST", "/user/email/initiate", map[string]string{"email": "shared@example.com"}, []*http.Cookie{carol})
	carolCode := app.lastCode("email-transfer", "shared@example.com")

	if resp := app.request("PUT", "/user/email", map[string]string{"code": "123456"}, []*http.Cookie{{Name: "session", Value: "x"}}); resp.Status != http.StatusUnauthorized {
		t.Errorf("unknown session: status = %d, want 401", resp.Status)
	}
	if bobCode != carolCode {
		resp := app.request("PUT", "/user/email", map[string]string{"code": bobCode}, []*http.Cookie{carol})
		if resp.Status != http.StatusUnauthorized {
			t.Errorf("another user's code: status = %d, want 401", resp.Status)
		}
	}
	if resp := app.request("PUT", "/user/email", map[string]string{"code": carolCode}, []*http.Cookie{carol}); resp.Status != http.StatusOK {
		t.Fatalf("carol: status = %d, want 200", resp.Status)
	}
	if resp := app.request("PUT", "/user/email", map[string]string{"code": bobCode}, []*http.Cookie{bob}); resp.Status != http.StatusConflict {
		t.Errorf("address taken meanwhile: status = %d, want 409", resp.Status)
	}

	app.request("POST", "/user/email/initiate", map[string]string{"email": "bob2@example.com"}, []*http.Cookie{bob})
	code := app.lastCode("email-transfer", "bob2@example.com")
	app.clock.Advance(15 * time.Minute)
	if resp := app.request("PUT", "/user/email", map[string]string{"code": code}, []*http.Cookie{bob}); resp.Status != http.StatusUnauthorized {
		t.Errorf("expired code: status = %d, want 401", resp.Status)
	}
}

func TestNewCodeDigits(t *testing.T) {
	for range 1000 {
		if code := newCode(); !sixDigits.MatchString(code) {
			t.Fatalf("newCode() = %q, want 6 digits", code)
		}
	}
}
