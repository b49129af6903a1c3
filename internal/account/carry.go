package account

import "github.com/caddy-twofactor/caddy-twofactor/internal/store"

// Carry gives the session toKey the verification of the session fromKey,
// for a credential the app rotated on a refresh route. The new session gets
// the same method and verification time, so it stays verified until the old
// one's session_ttl ends and never longer. The old session stays, because
// the app may accept the old credential until it expires. Carry reports
// false, and writes nothing, when fromKey is not a verified session of
// userID. Call it inside UpdateUser for the same user.
func (s *Sessions) Carry(tx store.Tx, userID, fromKey, toKey string) (bool, error) {
	if userID == "" || fromKey == "" || toKey == "" {
		return false, nil
	}
	from, err := getSession(tx, sessionStoreKey(userID, fromKey))
	if err != nil || from == nil {
		return false, err
	}
	now := s.Now()
	if from.UserID != userID || !now.Before(from.VerifiedAt.Add(s.Policy.TTL)) {
		return false, nil
	}
	if toKey == fromKey {
		return true, nil
	}
	carried := &Session{UserID: userID, Method: from.Method, VerifiedAt: from.VerifiedAt, LastUsed: now}
	key := sessionStoreKey(userID, toKey)
	s.cache().forget(userID, key)
	return true, s.put(tx, key, carried)
}
