package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

func init() {
	caddy.RegisterModule(new(AdminAPI))
}

// Admin routes, below Caddy's admin endpoint.
const (
	adminPrefix = "/twofactor/"
	// defaultAuditLimit and maxAuditLimit bound the events one audit
	// request returns: the newest ones.
	defaultAuditLimit = 100
	maxAuditLimit     = 10_000
)

// AdminAPI serves the operator routes of the twofactor handlers on Caddy's
// admin endpoint:
//
//	GET  /twofactor/users/<realm>/<id>          status of a user
//	POST /twofactor/users/<realm>/<id>/reset    remove the user's 2FA
//	POST /twofactor/users/<realm>/<id>/lift     clear guess counters (?method=)
//	POST /twofactor/users/<realm>/<id>/revoke   end the user's sessions
//	GET  /twofactor/audit/<realm>               audit events (?user=&since=&limit=)
//	GET  /twofactor/backup/<realm-or-db>        a consistent copy of the file
//
// Path segments are URL-escaped. The user and audit routes take an
// optional db query parameter (the database file's absolute path) for a
// realm that several databases serve. Errors are JSON {"error": "…"}.
// These routes are as powerful as the admin endpoint itself, which can
// replace the whole config: keep that endpoint local (Caddy's default)
// or behind its access controls.
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (*AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.twofactor",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// Routes returns the routes of the twofactor admin API.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: adminPrefix, Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// serve dispatches a request below adminPrefix.
func (a *AdminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	segments, err := adminSegments(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	switch {
	case len(segments) == 3 && segments[0] == "users":
		return a.userStatus(w, r, segments[1], segments[2])
	case len(segments) == 4 && segments[0] == "users":
		return a.userAction(w, r, segments[1], segments[2], segments[3])
	case len(segments) == 2 && segments[0] == "audit":
		return a.audit(w, r, segments[1])
	case len(segments) == 2 && segments[0] == "backup":
		return a.backup(w, r, segments[1])
	}
	return apiError(http.StatusNotFound, "no twofactor admin route at %s", r.URL.Path)
}

// adminSegments splits an escaped path below adminPrefix into unescaped
// segments, so a user id may hold any byte, "/" included (as %2F).
func adminSegments(escaped string) ([]string, error) {
	rest, ok := strings.CutPrefix(escaped, adminPrefix)
	if !ok || rest == "" {
		return nil, apiError(http.StatusNotFound, "no twofactor admin route at %s", escaped)
	}
	segments := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for i, s := range segments {
		unescaped, err := url.PathUnescape(s)
		if err != nil {
			return nil, apiError(http.StatusBadRequest, "invalid escape in path segment %q", s)
		}
		if unescaped == "" {
			return nil, apiError(http.StatusBadRequest, "empty path segment in %s", escaped)
		}
		segments[i] = unescaped
	}
	return segments, nil
}

func (a *AdminAPI) userStatus(w http.ResponseWriter, r *http.Request, realm, userID string) error {
	if err := requireMethod(w, r, http.MethodGet); err != nil {
		return err
	}
	target, err := running.realm(realm, r.URL.Query().Get("db"))
	if err != nil {
		return err
	}
	status, err := target.admin().UserStatus(userID)
	if err != nil {
		return storeError(err)
	}
	return writeJSON(w, status)
}

// userAction runs reset, lift or revoke on a user of a running realm.
func (a *AdminAPI) userAction(w http.ResponseWriter, r *http.Request, realm, userID, action string) error {
	if action != "reset" && action != "lift" && action != "revoke" {
		return apiError(http.StatusNotFound, "unknown user action %q: want reset, lift or revoke", action)
	}
	if err := requireMethod(w, r, http.MethodPost); err != nil {
		return err
	}
	target, err := running.realm(realm, r.URL.Query().Get("db"))
	if err != nil {
		return err
	}
	admin, ip := target.admin(), remoteIP(r)
	var result any
	switch action {
	case "reset":
		result, err = admin.ResetUser(userID, ip)
	case "lift":
		result, err = admin.LiftThrottle(userID, r.URL.Query().Get("method"), ip)
	case "revoke":
		result, err = admin.RevokeSessions(userID, ip)
	}
	if errors.Is(err, account.ErrUnknownMethod) {
		return apiError(http.StatusBadRequest, "%v", err)
	}
	if err != nil {
		return storeError(err)
	}
	target.logger.Info("operator action on a twofactor user", zap.String("action", action),
		zap.String("user", userID), zap.String("realm", realm), zap.String("client_ip", ip))
	return writeJSON(w, result)
}

// auditResponse is the body of a successful audit request.
type auditResponse struct {
	Events []account.AuditEvent `json:"events"`
}

func (a *AdminAPI) audit(w http.ResponseWriter, r *http.Request, realm string) error {
	if err := requireMethod(w, r, http.MethodGet); err != nil {
		return err
	}
	query := r.URL.Query()
	filter := account.AuditFilter{User: query.Get("user"), Limit: defaultAuditLimit}
	if s := query.Get("since"); s != "" {
		since, err := parseSince(s, time.Now())
		if err != nil {
			return apiError(http.StatusBadRequest, "%v", err)
		}
		filter.Since = since
	}
	if s := query.Get("limit"); s != "" {
		limit, err := strconv.Atoi(s)
		if err != nil || limit < 1 || limit > maxAuditLimit {
			return apiError(http.StatusBadRequest, "limit is %q, want a number from 1 to %d", s, maxAuditLimit)
		}
		filter.Limit = limit
	}
	target, err := running.realm(realm, query.Get("db"))
	if err != nil {
		return err
	}
	var events []account.AuditEvent
	err = store.WithRealm(target.db, target.name).View(func(tx store.Tx) error {
		events, err = account.ListAudit(tx, filter)
		return err
	})
	if err != nil {
		return storeError(err)
	}
	return writeJSON(w, auditResponse{Events: events})
}

// parseSince reads a since value: an RFC 3339 time, or a Go duration
// such as 24h that counts back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("since is %q, want an RFC 3339 time "+
			"(2006-01-02T15:04:05Z) or a positive duration such as 24h", s)
	}
	return now.Add(-d), nil
}

// backup streams a consistent copy of the database of a realm, or of the
// database at an absolute path. Once the first byte is out, a failure can
// only cut the body short; Content-Length lets the client notice.
func (a *AdminAPI) backup(w http.ResponseWriter, r *http.Request, realmOrDB string) error {
	if err := requireMethod(w, r, http.MethodGet); err != nil {
		return err
	}
	db, path, err := running.database(realmOrDB)
	if err != nil {
		return err
	}
	started := false
	_, err = db.Backup(w, func(size int64) {
		started = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Header().Set("Content-Disposition", `attachment; filename="twofactor-backup.db"`)
		w.WriteHeader(http.StatusOK)
	})
	if err != nil && started {
		caddy.Log().Named("admin.api.twofactor").Error("backup cut short",
			zap.String("db", path), zap.Error(err))
		return nil
	}
	if err != nil {
		return storeError(err)
	}
	return nil
}

// requireMethod rejects a request whose method is not method with 405,
// naming the allowed one.
func requireMethod(w http.ResponseWriter, r *http.Request, method string) error {
	if r.Method == method {
		return nil
	}
	w.Header().Set("Allow", method)
	return apiError(http.StatusMethodNotAllowed, "method %s not allowed, use %s", r.Method, method)
}

// apiError returns an error that Caddy's admin endpoint sends as
// {"error": "…"} with status.
func apiError(status int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return caddy.APIError{HTTPStatus: status, Err: err, Message: err.Error()}
}

// storeError maps a failed store operation to 503 when the store itself
// failed, and 500 otherwise.
func storeError(err error) error {
	if errors.Is(err, account.ErrNoUserID) {
		return apiError(http.StatusBadRequest, "%v", err)
	}
	if errors.Is(err, store.ErrUnavailable) {
		return apiError(http.StatusServiceUnavailable, "%v", err)
	}
	return apiError(http.StatusInternalServerError, "%v", err)
}

func writeJSON(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return apiError(http.StatusInternalServerError, "encoding the response: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// A failed write means the client is gone: nothing is left to tell it.
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// remoteIP returns the host of the admin request's remote address, or the
// whole address when it has no port (a Unix socket).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Interface guards
var _ caddy.AdminRouter = (*AdminAPI)(nil)
