package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// newCode returns 6 uniformly random decimal digits.
func newCode() string {
	// Values from codeLimit up are drawn again, because codeLimit is the
	// largest multiple of 10^6 below 2^32 and the rest would bias the digits.
	const codeLimit = 4_294_000_000
	var b [4]byte
	for {
		rand.Read(b[:]) // never returns an error since Go 1.24
		if n := binary.BigEndian.Uint32(b[:]); n < codeLimit {
			return fmt.Sprintf("%06d", n%1_000_000)
		}
	}
}

// storeResetCode creates a password reset code for the account with that
// address, replacing any earlier one. ok is false for an unknown address.
func (st *state) storeResetCode(email string) (code string, ok bool) {
	email = normalizeEmail(email)
	code = newCode()

	st.mu.Lock()
	defer st.mu.Unlock()

	id, ok := st.emails[email]
	if !ok {
		return "", false
	}
	st.resets[id] = pendingCode{email: email, code: code, expires: st.now().Add(codeTTL)}
	return code, true
}

// resetCodeUser returns the id of the user whose pending reset code for
// that address is code. The caller holds st.mu.
func (st *state) resetCodeUser(email, code string) (int, bool) {
	email = normalizeEmail(email)
	id, ok := st.emails[email]
	if !ok {
		return 0, false
	}
	pending, ok := st.resets[id]
	if ok && pending.email != email {
		ok = false
	}
	return id, st.codeMatches(pending, ok, code)
}

// checkResetCode reports whether code is the unexpired reset code of that
// address. The code stays usable.
func (st *state) checkResetCode(email, code string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()

	_, ok := st.resetCodeUser(email, code)
	return ok
}

// resetPassword sets a new password with a valid reset code, consumes the
// code and ends every session of the user. It returns errInvalidCode or
// errShortPassword, and a short password leaves the code usable.
func (st *state) resetPassword(email, code, password string) error {
	st.mu.Lock()
	defer st.mu.Unlock()

	id, ok := st.resetCodeUser(email, code)
	if !ok {
		return errInvalidCode
	}
	if utf8.RuneCountInString(password) < minPasswordLength {
		return errShortPassword
	}

	delete(st.resets, id)
	st.users[id].setPassword(password)
	st.endAllSessions(id)
	return nil
}

// changePassword sets a new password when oldPassword is the current one.
// Sessions stay, as the user proved the password. It returns
// errWrongPassword or errShortPassword.
func (st *state) changePassword(userID int, oldPassword, newPassword string) error {
	st.mu.Lock()
	defer st.mu.Unlock()

	u, ok := st.users[userID]
	if !ok || !u.passwordMatches(oldPassword) {
		return errWrongPassword
	}
	if utf8.RuneCountInString(newPassword) < minPasswordLength {
		return errShortPassword
	}
	u.setPassword(newPassword)
	return nil
}

// validEmail is the app's loose address check: text around one "@" and no
// spaces.
func validEmail(email string) bool {
	local, domain, ok := strings.Cut(email, "@")
	return ok && local != "" && domain != "" &&
		!strings.ContainsAny(email, " \t\r\n") && !strings.Contains(domain, "@")
}

// storeTransferCode creates the code that confirms a move of the user's
// account to a new address, replacing any earlier one. It returns
// errEmailTaken when another account, or this one, already has the address.
func (st *state) storeTransferCode(userID int, email string) (string, error) {
	email = normalizeEmail(email)
	code := newCode()

	st.mu.Lock()
	defer st.mu.Unlock()

	if _, taken := st.emails[email]; taken {
		return "", errEmailTaken
	}
	st.transfers[userID] = pendingCode{email: email, code: code, expires: st.now().Add(codeTTL)}
	return code, nil
}

// changeEmail moves the user to the address of its pending transfer when
// code matches, and consumes the code. It returns errInvalidCode or
// errEmailTaken (the address was claimed since the code was sent).
func (st *state) changeEmail(userID int, code string) error {
	st.mu.Lock()
	defer st.mu.Unlock()

	pending, ok := st.transfers[userID]
	if !st.codeMatches(pending, ok, code) {
		return errInvalidCode
	}
	delete(st.transfers, userID)
	if _, taken := st.emails[pending.email]; taken {
		return errEmailTaken
	}

	u := st.users[userID]
	delete(st.emails, u.Email)
	u.Email = pending.email
	st.emails[u.Email] = userID
	// A reset code was mailed to the old address, so it no longer applies.
	delete(st.resets, userID)
	return nil
}
