package account

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// AuditRetention is how long the store keeps an audit event, counted from
// the event's time. The sweeper deletes older events.
const AuditRetention = 90 * 24 * time.Hour

// Audit event names.
const (
	AuditTOTPEnabled        = "totp_enabled"
	AuditTOTPDisabled       = "totp_disabled"
	AuditEmailOTPEnabled    = "email_otp_enabled"
	AuditEmailOTPDisabled   = "email_otp_disabled"
	AuditSecondFactorPassed = "second_factor_passed"
	AuditSecondFactorFailed = "second_factor_failed"
	AuditRecoveryCodesReset = "recovery_codes_reset"
	AuditAdminReset         = "admin_reset"
	AuditAdminLift          = "admin_lift"
	AuditAdminRevoke        = "admin_revoke"
)

// An audit key is the event time and a few random bytes.
const (
	auditKeyTimeSize   = 8
	auditKeyRandomSize = 4
	auditKeySize       = auditKeyTimeSize + auditKeyRandomSize
	// maxAuditPrealloc bounds the slice ListAudit allocates up front for
	// a limit, so a huge limit costs memory only for events that exist.
	maxAuditPrealloc = 1024
)

// Audit outcomes. Events may use other short words (for example
// "throttled" or "replayed" on a failed second factor).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// AuditEvent is one stored audit record. It never holds a code, secret,
// token or password: only who, what, how and from where.
type AuditEvent struct {
	// Time is when the event happened. AppendAudit sets it to the current
	// time when it is zero.
	Time time.Time `json:"time"`
	// User is the user id the event is about.
	User string `json:"user"`
	// Event is one of the Audit* names.
	Event string `json:"event"`
	// Method is the 2FA method involved (totp, emailOtp, recoveryCode),
	// "all" for an operator action on every method, or empty.
	Method string `json:"method,omitempty"`
	// Outcome is OutcomeSuccess, OutcomeFailure or another short word.
	Outcome string `json:"outcome,omitempty"`
	// ClientIP is the address of the client that caused the event: the
	// user's browser, or the caller of the admin endpoint. It is empty for
	// the offline command line.
	ClientIP string `json:"clientIp,omitempty"`
}

// AuditFilter selects events for ListAudit. The zero value selects all.
type AuditFilter struct {
	// User keeps only the events of this user id. Empty: every user.
	User string
	// Since keeps only events at or after this time. Zero: no bound.
	Since time.Time
	// Limit keeps only the newest Limit events. Zero or less: no limit.
	Limit int
}

// AppendAudit stores e in the audit bucket until AuditRetention after its
// time. Call it inside the transaction of the change it records, so the
// event is stored exactly when the change is. The key is the event time
// in big-endian Unix nanoseconds followed by random bytes, so a scan
// returns events in time order and two events in the same nanosecond do
// not overwrite each other.
func AppendAudit(tx store.Tx, e AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding audit event: %v", err)
	}
	if err := tx.Put(store.BucketAudit, auditKey(e.Time), raw, e.Time.Add(AuditRetention)); err != nil {
		return fmt.Errorf("storing audit event: %w", err)
	}
	return nil
}

// auditKey returns the store key of an event at t. Times before 1970
// sort as 1970: the key holds no sign.
func auditKey(t time.Time) string {
	var key [auditKeySize]byte
	binary.BigEndian.PutUint64(key[:auditKeyTimeSize], uint64(max(t.UnixNano(), 0)))
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(key[auditKeyTimeSize:])
	return string(key[:])
}

// ListAudit returns the events that filter selects, oldest first. It
// scans the realm's whole audit bucket, which AuditRetention bounds.
// Events that fail to decode are skipped rather than failing the list.
func ListAudit(tx store.Tx, filter AuditFilter) ([]AuditEvent, error) {
	var since int64
	if !filter.Since.IsZero() {
		since = max(filter.Since.UnixNano(), 0)
	}
	events := make([]AuditEvent, 0, min(max(filter.Limit, 0), maxAuditPrealloc))
	err := tx.Scan(store.BucketAudit, "", func(key string, raw []byte) error {
		if len(key) != auditKeySize || int64(binary.BigEndian.Uint64([]byte(key[:auditKeyTimeSize]))) < since {
			return nil
		}
		var e AuditEvent
		if json.Unmarshal(raw, &e) != nil {
			return nil
		}
		if filter.User != "" && e.User != filter.User {
			return nil
		}
		events = append(events, e)
		if filter.Limit > 0 && len(events) > 2*filter.Limit {
			// Drop the oldest in batches, so a long scan keeps at most
			// twice the limit in memory without copying on every event.
			events = append(events[:0], events[len(events)-filter.Limit:]...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading audit events: %w", err)
	}
	if filter.Limit > 0 && len(events) > filter.Limit {
		events = events[len(events)-filter.Limit:]
	}
	return events, nil
}
