package hold

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

var testRule = Rule{
	Carriers: []identity.Carrier{
		{Kind: identity.CarrierCookie, Name: "session"},
		{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"},
	},
	TokenField:   "accessToken",
	RefreshField: "refreshToken",
}

func answer(status int, body string, setCookies ...string) *Answer {
	h := http.Header{}
	for _, c := range setCookies {
		h.Add("Set-Cookie", c)
	}
	return &Answer{Status: status, Header: h, Body: []byte(body)}
}

func TestSucceeded(t *testing.T) {
	tests := []struct {
		name string
		a    *Answer
		want bool
	}{
		{"200", answer(200, `{}`), true},
		{"204", answer(204, ``), true},
		{"303 with carrier cookie", answer(303, ``, "session=abc; Path=/; HttpOnly"), true},
		{"303 without cookie", answer(303, ``), false},
		{"303 with other cookie", answer(303, ``, "theme=dark"), false},
		{"303 clearing the cookie", answer(303, ``, "session=abc; Max-Age=-1"), false},
		{"401", answer(401, `{"error":"bad"}`), false},
		{"200 form with error", answer(200, `<p>wrong password</p>`), true},
	}
	for _, tt := range tests {
		if got := testRule.Succeeded(tt.a); got != tt.want {
			t.Errorf("%s: Succeeded = %v, want %v", tt.name, got, tt.want)
		}
	}
	strict := testRule
	strict.SuccessStatus = []int{303}
	if strict.Succeeded(answer(200, `{}`)) {
		t.Error("Succeeded with success status 303 accepts 200")
	}
}

func TestCredentialCookie(t *testing.T) {
	issued := testRule.Credential(answer(303, ``, "session=abc; Path=/", "theme=dark"))
	if issued == nil {
		t.Fatal("Credential = nil, want the session cookie")
	}
	if got := issued.Header.Get("Cookie"); got != "session=abc" {
		t.Errorf("Cookie = %q, want session=abc", got)
	}
}

func TestCredentialToken(t *testing.T) {
	issued := testRule.Credential(answer(200, `{"accessToken":"jwt.token","refreshToken":"r1"}`))
	if issued == nil {
		t.Fatal("Credential = nil, want the token")
	}
	if got := issued.Header.Get("Authorization"); got != "Bearer jwt.token" {
		t.Errorf("Authorization = %q, want Bearer jwt.token", got)
	}
	if issued.AccessToken != "jwt.token" || issued.RefreshToken != "r1" {
		t.Errorf("tokens = %q, %q, want jwt.token, r1", issued.AccessToken, issued.RefreshToken)
	}
}

func TestCredentialNone(t *testing.T) {
	if issued := testRule.Credential(answer(200, `{"ok":true}`, "theme=dark")); issued != nil {
		t.Errorf("Credential = %+v, want nil", issued)
	}
}

func TestRecorderCutsLargeBody(t *testing.T) {
	rec := NewRecorder()
	rec.Header().Set("X-App", "1")
	rec.WriteHeader(http.StatusCreated)
	rec.Write([]byte(strings.Repeat("a", maxRecorded)))
	rec.Write([]byte("b"))
	a, complete := rec.Answer()
	if complete {
		t.Error("Answer reports a complete body after more than 1 MiB")
	}
	if a.Status != http.StatusCreated || len(a.Body) != maxRecorded {
		t.Errorf("answer status %d, body %d bytes, want 201 and %d", a.Status, len(a.Body), maxRecorded)
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	a := answer(303, `body`, "session=abc")
	a.Header.Set("Location", "/dashboard")
	raw, err := a.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Unmarshal(raw)
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	w := httptest.NewRecorder()
	back.WriteTo(w)
	if w.Code != 303 || w.Header().Get("Location") != "/dashboard" || w.Body.String() != "body" {
		t.Errorf("written answer = %d %q %q, want 303 /dashboard body", w.Code,
			w.Header().Get("Location"), w.Body.String())
	}
	if got := w.Header().Get("Set-Cookie"); got != "session=abc" {
		t.Errorf("Set-Cookie = %q, want session=abc", got)
	}
}
