package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMalformedRequestsRejected(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	c := s.loginJSON(t, "alice")
	_, secret := c.setupTOTP()
	// A valid code in each malformed body shows that none is evaluated.
	code := totpAt(t, secret, time.Now().Unix()/totpPeriod)

	const path = "/user/2fa/totp/enable"
	big := `{"totp":"` + strings.Repeat("1", 64<<10) + `"}`
	cases := []struct {
		name, contentType, body string
		status                  int
	}{
		{"text content type", "text/plain", `{"totp":"` + code + `"}`, http.StatusBadRequest},
		{"form content type", "application/x-www-form-urlencoded", "totp=" + code, http.StatusBadRequest},
		{"no content type", "", `{"totp":"` + code + `"}`, http.StatusBadRequest},
		{"too large", "application/json", big, http.StatusRequestEntityTooLarge},
		{"malformed", "application/json", `{"totp":"` + code + `"`, http.StatusBadRequest},
		{"not an object", "application/json", `["` + code + `"]`, http.StatusBadRequest},
		{"two objects", "application/json", `{"totp":"` + code + `"}{}`, http.StatusBadRequest},
		{"duplicate key", "application/json", `{"totp":"` + code + `","totp":"` + code + `"}`,
			http.StatusBadRequest},
		{"duplicate key case", "application/json", `{"totp":"` + code + `","TOTP":"` + code + `"}`,
			http.StatusBadRequest},
		{"unknown field", "application/json", `{"totp":"` + code + `","remember":true}`,
			http.StatusBadRequest},
		{"number", "application/json", `{"totp":` + code + `}`, http.StatusBadRequest},
		{"null", "application/json", `{"totp":null}`, http.StatusBadRequest},
		{"five digits", "application/json", `{"totp":"` + code[:5] + `"}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.send(http.MethodPost, path, tc.body,
				"Content-Type", tc.contentType, "Origin", s.base)
			wantError(t, r, tc.status, "")
		})
	}
	t.Run("too large streamed", func(t *testing.T) {
		// Without Content-Length the module must count what it reads.
		req, err := http.NewRequest(http.MethodPost, s.base+path, io.MultiReader(strings.NewReader(big)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", s.base)
		req.Header.Set("Cookie", c.cookieHeader())
		r := c.do(req)
		wantError(t, r, http.StatusRequestEntityTooLarge, "")
	})

	t.Run("nothing stored", func(t *testing.T) {
		// None of them enabled TOTP or counted as a failed guess, and the
		// code was not used up.
		checkStatus(t, c, false, -1)
		wantDuration(t, c.get("/user/2fa/totp/next-guess"), 0)
		r := c.post(path, fmt.Sprintf(`{"totp":%q}`, code))
		wantStatus(t, r, http.StatusOK)
		checkStatus(t, c, true, 10)
	})
}
