package gate

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

func TestPrepareForwardStrips(t *testing.T) {
	bearer := identity.Carrier{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}
	tests := []struct {
		name        string
		carriers    []identity.Carrier
		passHeaders []string
		cookie      string
		header      map[string]string
		wantCookie  string
		wantAuth    string
	}{
		{
			name:       "module parts and foreign authorization",
			carriers:   []identity.Carrier{sidCookie},
			cookie:     "sid=sid-bob; twofactor=m1; theme=dark; __Host-twofactor=m2",
			header:     map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
			wantCookie: "sid=sid-bob; theme=dark",
		},
		{
			name:        "pass_header keeps authorization",
			carriers:    []identity.Carrier{sidCookie},
			passHeaders: []string{"authorization"},
			cookie:      "sid=sid-bob",
			header:      map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
			wantCookie:  "sid=sid-bob",
			wantAuth:    "Basic dXNlcjpwYXNz",
		},
		{
			name:       "rejected carrier",
			carriers:   []identity.Carrier{sidCookie},
			cookie:     "theme=dark; sid=forged",
			wantCookie: "theme=dark",
		},
		{
			name:     "authorization carrier kept",
			carriers: []identity.Carrier{bearer},
			header:   map[string]string{"Authorization": "Bearer sid-bob"},
			wantAuth: "Bearer sid-bob",
		},
		{
			name:     "rejected authorization carrier",
			carriers: []identity.Carrier{bearer},
			header:   map[string]string{"Authorization": "Bearer forged"},
		},
		{
			name:        "sudo token despite pass_header",
			carriers:    []identity.Carrier{sidCookie},
			passHeaders: []string{"Authorization"},
			header:      map[string]string{"Authorization": "Bearer SUDO"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGateFixture(t)
			f.gate.Carriers = tt.carriers
			f.gate.PassHeaders = tt.passHeaders
			sudo := f.mintSudo("bob", "", account.MethodTOTP)
			r := request(http.MethodGet, "/docs", tt.cookie)
			for name, value := range tt.header {
				r.Header.Set(name, strings.ReplaceAll(value, "SUDO", sudo))
			}

			wantPass(t, f.check(r))
			if got := r.Header.Get("Cookie"); got != tt.wantCookie {
				t.Errorf("Cookie = %q, want %q", got, tt.wantCookie)
			}
			if got := r.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
		})
	}
}

func TestPrepareForwardStripsSudoHeader(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")
	r := request(http.MethodGet, "/docs", "sid=sid-alice; twofactor=module-1")
	res := f.resolve(r)
	f.verify("alice", res.Caller.SessionKey, account.MethodTOTP)
	sudo := f.mintSudo("alice", res.Caller.SessionKey, account.MethodTOTP)
	r.Header.Set(SudoHeader, sudo)

	d := f.check(r)
	if d.UserID != "alice" {
		t.Fatalf("decision = %+v, want a pass for alice", d)
	}
	if got := r.Header.Values(SudoHeader); len(got) != 0 {
		t.Errorf("X-Sudo-Token = %q, want it removed", got)
	}
}

func TestPrepareForwardForeignSchemeOfCarrierHeader(t *testing.T) {
	f := newGateFixture(t)
	f.enable("alice")
	f.gate.Carriers = []identity.Carrier{{Kind: identity.CarrierHeader, Name: "Authorization", Scheme: "Bearer"}}
	r := request(http.MethodGet, "/docs", "")
	r.Header.Set("Authorization", "Basic YWxpY2U6cGFzc3dvcmQ=")

	wantPass(t, f.check(r))
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want it removed: it is neither a configured carrier nor passed", got)
	}
}
