package main

// startAPISession records a JSON login of the user and returns its session
// id (the sid claim) and first refresh token.
func (st *state) startAPISession(userID int) (sid, refresh string) {
	sid = newToken()
	refresh = newToken()

	st.mu.Lock()
	defer st.mu.Unlock()

	key := tokenKey(refresh)
	st.apiSessions[sid] = &apiSession{
		userID:         userID,
		refreshKey:     key,
		refreshExpires: st.now().Add(refreshTokenTTL),
	}
	st.refreshes[key] = sid
	return sid, refresh
}

// rotateRefresh exchanges an unexpired refresh token for a new one in the
// same JSON login. The old token stops working. It returns the user, the
// login's session id and the new refresh token.
func (st *state) rotateRefresh(refresh string) (p profile, sid, next string, ok bool) {
	next = newToken()

	st.mu.Lock()
	defer st.mu.Unlock()

	oldKey := tokenKey(refresh)
	sid, ok = st.refreshes[oldKey]
	if !ok {
		return profile{}, "", "", false
	}
	as := st.apiSessions[sid]
	delete(st.refreshes, oldKey)
	if !st.now().Before(as.refreshExpires) {
		delete(st.apiSessions, sid)
		return profile{}, "", "", false
	}

	as.refreshKey = tokenKey(next)
	as.refreshExpires = st.now().Add(refreshTokenTTL)
	st.refreshes[as.refreshKey] = sid
	return st.users[as.userID].profile, sid, next, true
}

// endAPISession deletes a JSON login, so its refresh token stops working.
// Access tokens already issued for it stay valid until they expire.
func (st *state) endAPISession(sid string) {
	st.mu.Lock()
	defer st.mu.Unlock()

	if as, ok := st.apiSessions[sid]; ok {
		delete(st.refreshes, as.refreshKey)
		delete(st.apiSessions, sid)
	}
}
