package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// operator runs the `caddy twofactor` commands on one realm, either
// through the admin endpoint of a running Caddy or on a database file.
type operator interface {
	realm() string
	status(user string) (*account.UserStatus, error)
	reset(user string) (*account.ResetResult, error)
	lift(user, method string) (*account.LiftResult, error)
	revoke(user string) (*account.RevokeResult, error)
	audit(filter account.AuditFilter) ([]account.AuditEvent, error)
	// backup writes a copy of the whole database file to w.
	backup(w io.Writer) (int64, error)
}

// fileOperator acts on a database file while Caddy is stopped. Its
// changes write audit events without a client IP.
type fileOperator struct {
	db    *store.Bolt
	name  string
	admin *account.Admin
}

// openFileOperator opens the database at path. It does not create a
// missing file, and it fails after offlineOpenTimeout when a running
// Caddy holds the file's lock.
func openFileOperator(path, realm string) (*fileOperator, error) {
	if !store.ValidRealm(realm) {
		return nil, fmt.Errorf("invalid --realm %q: want a name without NUL bytes", realm)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no database at %s: check --db", path)
	}
	db, err := store.OpenBolt(path, store.BoltOptions{Timeout: offlineOpenTimeout})
	if err != nil {
		return nil, fmt.Errorf("%v. If Caddy is running with this database, "+
			"use --address to act through its admin endpoint instead of --db", err)
	}
	return &fileOperator{db: db, name: realm, admin: &account.Admin{Store: store.WithRealm(db, realm)}}, nil
}

func (f *fileOperator) close() error { return f.db.Close() }

func (f *fileOperator) realm() string { return f.name }

func (f *fileOperator) status(user string) (*account.UserStatus, error) {
	return f.admin.UserStatus(user)
}

func (f *fileOperator) reset(user string) (*account.ResetResult, error) {
	return f.admin.ResetUser(user, "")
}

func (f *fileOperator) lift(user, method string) (*account.LiftResult, error) {
	return f.admin.LiftThrottle(user, method, "")
}

func (f *fileOperator) revoke(user string) (*account.RevokeResult, error) {
	return f.admin.RevokeSessions(user, "")
}

func (f *fileOperator) audit(filter account.AuditFilter) ([]account.AuditEvent, error) {
	var events []account.AuditEvent
	err := f.admin.Store.View(func(tx store.Tx) error {
		var err error
		events, err = account.ListAudit(tx, filter)
		return err
	})
	return events, err
}

func (f *fileOperator) backup(w io.Writer) (int64, error) {
	return f.db.Backup(w, nil)
}

// remoteOperator acts on a running Caddy through its admin endpoint, the
// routes of AdminAPI.
type remoteOperator struct {
	name   string
	origin string // scheme and host of request URLs, and the Origin header
	client *http.Client
	// sendOrigin is false on Unix sockets, where the admin endpoint
	// checks no origin and the host is a stand-in.
	sendOrigin bool
}

// remoteTimeout bounds a request of the admin routes other than backup,
// whose copy may take longer on a large file.
const remoteTimeout = 30 * time.Second

// newRemoteOperator prepares requests to the admin endpoint at address,
// in Caddy's network address syntax (host:port, unix//path).
func newRemoteOperator(address, realm string) (*remoteOperator, error) {
	if !store.ValidRealm(realm) {
		return nil, fmt.Errorf("invalid --realm %q: want a name without NUL bytes", realm)
	}
	addr, err := caddy.ParseNetworkAddress(address)
	if err != nil || addr.PortRangeSize() > 1 {
		return nil, fmt.Errorf("invalid --address %q: want host:port or unix//path of Caddy's admin endpoint",
			address)
	}
	op := &remoteOperator{name: realm, origin: "http://" + addr.JoinHostPort(0), sendOrigin: true}
	dialAddress := addr.JoinHostPort(0)
	if addr.IsUnixNetwork() {
		// The socket path may end in |<mode>, the socket's permissions.
		path, _, _ := strings.Cut(addr.Host, "|")
		op.origin, op.sendOrigin, dialAddress = "http://127.0.0.1", false, path
	}
	op.client = &http.Client{Transport: &http.Transport{
		Proxy: nil, // the admin endpoint is never reached through a proxy
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, addr.Network, dialAddress)
		},
	}}
	return op, nil
}

func (r *remoteOperator) realm() string { return r.name }

// userPath returns the escaped admin path of a user of the realm.
func (r *remoteOperator) userPath(user string) string {
	return adminPrefix + "users/" + escapeSegment(r.name) + "/" + escapeSegment(user)
}

func (r *remoteOperator) status(user string) (*account.UserStatus, error) {
	var status account.UserStatus
	return &status, r.call(http.MethodGet, r.userPath(user), nil, &status)
}

func (r *remoteOperator) reset(user string) (*account.ResetResult, error) {
	var result account.ResetResult
	return &result, r.call(http.MethodPost, r.userPath(user)+"/reset", nil, &result)
}

func (r *remoteOperator) lift(user, method string) (*account.LiftResult, error) {
	var result account.LiftResult
	query := url.Values{"method": {method}}
	return &result, r.call(http.MethodPost, r.userPath(user)+"/lift", query, &result)
}

func (r *remoteOperator) revoke(user string) (*account.RevokeResult, error) {
	var result account.RevokeResult
	return &result, r.call(http.MethodPost, r.userPath(user)+"/revoke", nil, &result)
}

func (r *remoteOperator) audit(filter account.AuditFilter) ([]account.AuditEvent, error) {
	query := url.Values{"limit": {strconv.Itoa(filter.Limit)}}
	if filter.User != "" {
		query.Set("user", filter.User)
	}
	if !filter.Since.IsZero() {
		query.Set("since", filter.Since.UTC().Format(time.RFC3339Nano))
	}
	var response auditResponse
	err := r.call(http.MethodGet, adminPrefix+"audit/"+escapeSegment(r.name), query, &response)
	return response.Events, err
}

func (r *remoteOperator) backup(w io.Writer) (int64, error) {
	resp, err := r.send(context.Background(), http.MethodGet, adminPrefix+"backup/"+escapeSegment(r.name), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// The client reports a body shorter than its Content-Length as an
	// error, so a copy cut short is never taken for a whole one.
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("receiving the backup: %v", err)
	}
	return n, nil
}

// call sends a request with a short timeout and decodes the JSON response
// into out.
func (r *remoteOperator) call(method, path string, query url.Values, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	resp, err := r.send(ctx, method, path, query)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the response of %s %s: %v", method, path, err)
	}
	return nil
}

// send sends a request to the admin endpoint and returns a 2xx response.
// Any other status becomes an error with the message of its JSON body.
func (r *remoteOperator) send(ctx context.Context, method, path string,
	query url.Values,
) (*http.Response, error) {
	target := r.origin + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("preparing %s %s: %v", method, path, err)
	}
	if r.sendOrigin {
		req.Header.Set("Origin", r.origin)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching Caddy's admin endpoint: %v. Is Caddy running? "+
			"Use --db <file> while it is stopped", err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &body) != nil || body.Error == "" {
		body.Error = strings.TrimSpace(string(raw))
	}
	return nil, fmt.Errorf("caddy admin endpoint: %s (HTTP %d)", body.Error, resp.StatusCode)
}

// escapeSegment escapes s as one path segment. Dots are escaped too, so
// a user id such as ".." stays a segment instead of a step up that the
// admin endpoint's router would clean away.
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ".", "%2E")
}
