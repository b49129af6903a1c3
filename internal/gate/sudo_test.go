package gate

import (
	"net/http"
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/api"
)

func TestAttachSudo(t *testing.T) {
	f := newGateFixture(t)
	cookie := "sid=sid-alice; twofactor=m1"
	key := f.resolve(request(http.MethodGet, "/", cookie)).Caller.SessionKey
	otherKey := f.resolve(request(http.MethodGet, "/", "sid=sid-alice-2; twofactor=m1")).Caller.SessionKey
	own := f.mintSudo("alice", key, account.MethodTOTP)
	other := f.mintSudo("alice", otherKey, account.MethodTOTP)

	tests := []struct {
		name, token string
		want        string // message code, or "" to accept
	}{
		{"own session", own, ""},
		{"another session", other, api.CodeSudoTokenInvalid},
		{"unknown", "sudo_unknown", api.CodeSudoTokenInvalid},
		{"no prefix", "unknown", api.CodeSudoTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caller := f.resolve(request(http.MethodGet, "/", cookie)).Caller
			e := f.gate.AttachSudo(caller, tt.token)
			if tt.want == "" {
				if e != nil {
					t.Fatalf("AttachSudo = %v, want the token accepted", e)
				}
				if caller.Sudo == nil || caller.Sudo.Method != account.MethodTOTP {
					t.Errorf("caller.Sudo = %+v, want the record minted by TOTP", caller.Sudo)
				}
				return
			}
			if e == nil || e.Status != http.StatusUnauthorized || e.Message != tt.want {
				t.Errorf("AttachSudo = %v, want 401 %s", e, tt.want)
			}
			if caller.Sudo != nil {
				t.Errorf("caller.Sudo = %+v after a rejected token, want nil", caller.Sudo)
			}
		})
	}
}
