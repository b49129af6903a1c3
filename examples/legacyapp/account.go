package main

import (
	"errors"
	"net/http"
)

// The password and account-email routes do not limit guesses of codes or
// passwords, like many legacy apps. The twofactor module in front of the
// app adds those limits.

// handleSendResetCode mails a password reset code to a known address. The
// response is always 200 {}, so it does not reveal which addresses have
// accounts.
func (s *server) handleSendResetCode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Email string `json:"email"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if code, ok := s.state.storeResetCode(body.Email); ok {
		// A mail failure is logged but not shown, because an error only for
		// known addresses would tell them apart.
		if err := s.mailer.send(mailKindReset, normalizeEmail(body.Email), code); err != nil {
			s.log.Error("mailing reset code failed", "error", err)
		}
	}
	writeJSON(w, http.StatusOK, emptyObject)
}

func (s *server) handleValidateResetCode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Email string `json:"email"`
		Code  string `json:"code"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if !s.state.checkResetCode(body.Email, body.Code) {
		writeError(w, http.StatusUnauthorized, errInvalidCode.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"valid": true})
}

// handleResetPassword sets a new password with a reset code and ends every
// session of the user.
func (s *server) handleResetPassword(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Email    string `json:"email"`
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.writeAccountResult(w, s.state.resetPassword(body.Email, body.Code, body.Password))
}

func (s *server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	p, ok := s.currentUser(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	var body struct {
		OldPassword string `json:"oldPassword"`
		NewPassword string `json:"newPassword"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.writeAccountResult(w, s.state.changePassword(p.ID, body.OldPassword, body.NewPassword))
}

// handleInitiateEmailChange mails a transfer code to the new address.
func (s *server) handleInitiateEmailChange(w http.ResponseWriter, r *http.Request) {
	p, ok := s.currentUser(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	var body struct {
		Email string `json:"email"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	email := normalizeEmail(body.Email)
	if !validEmail(email) {
		writeError(w, http.StatusBadRequest, "invalid email address")
		return
	}

	code, err := s.state.storeTransferCode(p.ID, email)
	if err != nil {
		s.writeAccountResult(w, err)
		return
	}
	if err := s.mailer.send(mailKindEmailTransfer, email, code); err != nil {
		s.log.Error("mailing email transfer code failed", "user", p.ID, "error", err)
		writeError(w, http.StatusInternalServerError, "sending mail failed")
		return
	}
	writeJSON(w, http.StatusOK, emptyObject)
}

// handleChangeEmail moves the account to the address of its pending
// transfer.
func (s *server) handleChangeEmail(w http.ResponseWriter, r *http.Request) {
	p, ok := s.currentUser(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	var body struct {
		Code string `json:"code"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.writeAccountResult(w, s.state.changeEmail(p.ID, body.Code))
}

// writeAccountResult writes 200 {} on success and maps the state's errors
// to their statuses.
func (s *server) writeAccountResult(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, emptyObject)
	case errors.Is(err, errInvalidCode), errors.Is(err, errWrongPassword):
		writeError(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, errShortPassword):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, errEmailTaken):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.log.Error("account change failed", "error", err)
		writeError(w, http.StatusInternalServerError, "internal server error")
	}
}
