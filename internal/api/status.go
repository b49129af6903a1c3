package api

import (
	"net"
	"net/http"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

type completed struct {
	CompletedAt time.Time `json:"completedAt"`
}

type emailStatus struct {
	Email       string    `json:"email"`
	CompletedAt time.Time `json:"completedAt"`
}

type recoveryStatus struct {
	CompletedAt time.Time `json:"completedAt"`
	Remaining   int       `json:"remaining"`
}

type statusResponse struct {
	Enabled       bool            `json:"enabled"`
	TOTP          *completed      `json:"totp"`
	EmailOTP      *emailStatus    `json:"emailOtp"`
	RecoveryCodes *recoveryStatus `json:"recoveryCodes"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, c *Caller, _ []byte) *Error {
	var u *account.User
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		u, err = account.LoadUser(tx, c.UserID)
		return err
	})
	if err != nil {
		return s.storeError(err)
	}
	answer := statusResponse{Enabled: u.Enabled()}
	if u.TOTP != nil {
		answer.TOTP = &completed{CompletedAt: u.TOTP.CompletedAt.UTC()}
	}
	if u.EmailOTP != nil {
		answer.EmailOTP = &emailStatus{Email: u.EmailOTP.Email, CompletedAt: u.EmailOTP.CompletedAt.UTC()}
	}
	if u.Enabled() && u.Recovery != nil {
		answer.RecoveryCodes = &recoveryStatus{
			CompletedAt: u.Recovery.CompletedAt.UTC(),
			Remaining:   len(u.Recovery.MACs),
		}
	}
	WriteJSON(w, answer)
	return nil
}

// hostname returns host without its port.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// User returns the caller's stored 2FA state.
func (s *Server) User(c *Caller) (*account.User, *Error) {
	var u *account.User
	err := s.Store.View(func(tx store.Tx) error {
		var err error
		u, err = account.LoadUser(tx, c.UserID)
		return err
	})
	if err != nil {
		return nil, s.storeError(err)
	}
	return u, nil
}
