package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"sync"
	"time"
)

// Lifetimes of the app's credentials and mailed codes.
const (
	accessTokenTTL  = 15 * time.Minute
	refreshTokenTTL = 7 * 24 * time.Hour
	rememberTTL     = 30 * 24 * time.Hour
	codeTTL         = 15 * time.Minute
)

// minPasswordLength is the shortest password the app accepts, in characters.
const minPasswordLength = 8

// adminUserID is the only user allowed on /admin.
const adminUserID = 1

var (
	errInvalidCode   = errors.New("invalid or expired code")
	errWrongPassword = errors.New("wrong password")
	errShortPassword = errors.New("password must be at least 8 characters")
	errEmailTaken    = errors.New("email address already in use")
)

// profile is the public view of a user, as /api/me returns it.
type profile struct {
	ID       int    `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Name     string `json:"name"`
}

// user is an account with its password hash.
type user struct {
	profile
	salt []byte
	hash [sha256.Size]byte
}

// pendingCode is a mailed code waiting to be used.
type pendingCode struct {
	email   string
	code    string
	expires time.Time
}

// apiSession is a JSON login: the user and its current refresh token. The
// id is the sid claim of every access token issued for this login.
type apiSession struct {
	userID         int
	refreshKey     string
	refreshExpires time.Time
}

// rememberToken is a remember-me cookie value that logs its user in.
type rememberToken struct {
	userID  int
	expires time.Time
}

// state is everything the app stores, in memory. Maps of credentials are
// keyed by tokenKey of the credential, so no raw token is kept and no map
// lookup compares a secret byte by byte. All methods are safe for concurrent
// use.
type state struct {
	now func() time.Time

	mu          sync.Mutex
	users       map[int]*user
	usernames   map[string]int
	emails      map[string]int
	sessions    map[string]int // cookie session -> user id
	remembers   map[string]rememberToken
	apiSessions map[string]*apiSession // sid -> login
	refreshes   map[string]string      // refresh token -> sid
	resets      map[int]pendingCode    // user id -> password reset code
	transfers   map[int]pendingCode    // user id -> new address and its code
}

// newState returns a state with the three demo users.
func newState(now func() time.Time) *state {
	st := &state{
		now:         now,
		users:       map[int]*user{},
		usernames:   map[string]int{},
		emails:      map[string]int{},
		sessions:    map[string]int{},
		remembers:   map[string]rememberToken{},
		apiSessions: map[string]*apiSession{},
		refreshes:   map[string]string{},
		resets:      map[int]pendingCode{},
		transfers:   map[int]pendingCode{},
	}
	seeds := []struct {
		id                              int
		username, password, email, name string
	}{
		{1, "alice", "alice-password", "alice@example.com", "Alice"},
		{2, "bob", "bob-password", "bob@example.com", "Bob"},
		{3, "carol", "carol-password", "carol@example.com", "Carol"},
	}
	for _, s := range seeds {
		u := &user{profile: profile{ID: s.id, Username: s.username, Email: s.email, Name: s.name}}
		u.setPassword(s.password)
		st.users[u.ID] = u
		st.usernames[u.Username] = u.ID
		st.emails[u.Email] = u.ID
	}
	return st
}

// normalizeEmail trims an address and folds its case, so lookups ignore both.
func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// tokenKey is the map key of a credential: its SHA-256, as a string.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return string(sum[:])
}

// setPassword stores a salted SHA-256 of password.
//
// NOTE: a fast hash is demo-grade. A real app needs a slow password hash
// such as bcrypt or argon2id.
func (u *user) setPassword(password string) {
	u.salt = []byte(newToken())
	u.hash = sha256.Sum256(append(append([]byte{}, u.salt...), password...))
}

func (u *user) passwordMatches(password string) bool {
	sum := sha256.Sum256(append(append([]byte{}, u.salt...), password...))
	return subtle.ConstantTimeCompare(sum[:], u.hash[:]) == 1
}

// codeMatches compares a submitted code with a pending one in constant time
// and checks its expiry.
func (st *state) codeMatches(p pendingCode, ok bool, code string) bool {
	if !ok || !st.now().Before(p.expires) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(p.code), []byte(code)) == 1
}

// login checks a username (case-sensitive) and password.
func (st *state) login(username, password string) (profile, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()

	id, ok := st.usernames[username]
	if !ok {
		return profile{}, false
	}
	u := st.users[id]
	if !u.passwordMatches(password) {
		return profile{}, false
	}
	return u.profile, true
}

// userByID returns the profile of the user with that id.
func (st *state) userByID(id int) (profile, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()

	u, ok := st.users[id]
	if !ok {
		return profile{}, false
	}
	return u.profile, true
}

// startSession creates a cookie session for the user and, if withRemember
// is set, a remember-me token. It returns both cookie values, remember empty
// without withRemember.
func (st *state) startSession(userID int, withRemember bool) (session, remember string) {
	session = newToken()
	if withRemember {
		remember = newToken()
	}

	st.mu.Lock()
	defer st.mu.Unlock()

	st.sessions[tokenKey(session)] = userID
	if withRemember {
		st.remembers[tokenKey(remember)] = rememberToken{userID: userID, expires: st.now().Add(rememberTTL)}
	}
	return session, remember
}

// sessionUser returns the user of a session cookie value.
func (st *state) sessionUser(session string) (profile, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()

	id, ok := st.sessions[tokenKey(session)]
	if !ok {
		return profile{}, false
	}
	return st.users[id].profile, true
}

// rememberUser returns the user of an unexpired remember-me cookie value.
func (st *state) rememberUser(remember string) (profile, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()

	rt, ok := st.remembers[tokenKey(remember)]
	if !ok || !st.now().Before(rt.expires) {
		return profile{}, false
	}
	return st.users[rt.userID].profile, true
}

// endSession deletes a cookie session and a remember-me token. Either value
// may be empty or unknown.
func (st *state) endSession(session, remember string) {
	st.mu.Lock()
	defer st.mu.Unlock()

	delete(st.sessions, tokenKey(session))
	delete(st.remembers, tokenKey(remember))
}

// endAllSessions deletes every cookie session, remember-me token and JSON
// login of a user. The caller holds st.mu.
func (st *state) endAllSessions(userID int) {
	for k, id := range st.sessions {
		if id == userID {
			delete(st.sessions, k)
		}
	}
	for k, rt := range st.remembers {
		if rt.userID == userID {
			delete(st.remembers, k)
		}
	}
	for sid, as := range st.apiSessions {
		if as.userID == userID {
			delete(st.refreshes, as.refreshKey)
			delete(st.apiSessions, sid)
		}
	}
}
