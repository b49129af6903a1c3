package main

import "net/http"

// tokenResponse is the response body of /api/login and /api/refresh.
type tokenResponse struct {
	AccessToken  string  `json:"accessToken"`
	RefreshToken string  `json:"refreshToken"`
	User         profile `json:"user"`
}

// item is an entry of GET /api/items.
type item struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Owner string `json:"owner"`
}

// handleAPILogin logs in with a JSON body. Besides the tokens it sets the
// session cookie, so the client can use either carrier.
func (s *server) handleAPILogin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	p, ok := s.state.login(body.Username, body.Password)
	if !ok {
		writeError(w, http.StatusUnauthorized, "invalid credentials")
		return
	}

	sid, refresh := s.state.startAPISession(p.ID)
	access, err := s.issueAccessToken(p, sid)
	if err != nil {
		s.log.Error("login failed", "user", p.ID, "error", err)
		writeError(w, http.StatusInternalServerError, "internal server error")
		return
	}
	session, _ := s.state.startSession(p.ID, false)
	setCredentialCookie(w, s.cfg.CookieName, session, 0)
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: access, RefreshToken: refresh, User: p})
}

// handleAPIRefresh rotates a refresh token. The response carries a new
// access token of the same login (same sid) and a new refresh token, and the
// old refresh token stops working.
func (s *server) handleAPIRefresh(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RefreshToken string `json:"refreshToken"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	p, sid, refresh, ok := s.state.rotateRefresh(body.RefreshToken)
	if !ok {
		writeError(w, http.StatusUnauthorized, "invalid refresh token")
		return
	}
	access, err := s.issueAccessToken(p, sid)
	if err != nil {
		s.log.Error("refresh failed", "user", p.ID, "error", err)
		writeError(w, http.StatusInternalServerError, "internal server error")
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: access, RefreshToken: refresh, User: p})
}

// handleLogout ends the cookie session and the remember-me token, and the
// JSON login of a valid bearer token, whichever the request carries. Form
// posts get 303 to /, JSON requests 204.
func (s *server) handleLogout(w http.ResponseWriter, r *http.Request) {
	var session, remember string
	if c, err := r.Cookie(s.cfg.CookieName); err == nil {
		session = c.Value
	}
	if c, err := r.Cookie(rememberCookieName); err == nil {
		remember = c.Value
	}
	s.state.endSession(session, remember)
	if _, claims, ok := s.bearerUser(r); ok {
		s.state.endAPISession(claims.SessionID)
	}

	setCredentialCookie(w, s.cfg.CookieName, "", -1)
	setCredentialCookie(w, rememberCookieName, "", -1)
	if isJSONRequest(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleMe returns the logged-in user. Anonymous visitors get the response
// that -anonymous-me selects.
func (s *server) handleMe(w http.ResponseWriter, r *http.Request) {
	p, ok := s.currentUser(r)
	if ok {
		writeJSON(w, http.StatusOK, p)
		return
	}

	switch s.cfg.AnonymousMe {
	case anonymousZeroID:
		writeJSON(w, http.StatusOK, map[string]int{"id": 0})
	case anonymousStatus204:
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusUnauthorized, "not logged in")
	}
}

// handleItems returns the user's items, a fixed demo list.
func (s *server) handleItems(w http.ResponseWriter, r *http.Request) {
	p, ok := s.currentUser(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	items := []item{
		{ID: 1, Title: "Invoice 2024-001", Owner: p.Username},
		{ID: 2, Title: "Invoice 2024-002", Owner: p.Username},
	}
	writeJSON(w, http.StatusOK, items)
}
