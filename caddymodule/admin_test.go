package caddymodule

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

var testPolicy = account.SessionPolicy{TTL: time.Hour, Idle: 30 * time.Minute}

// startTestHandler opens a database file and lists a handler of realm on
// it in the running registry, as Handler.start does, until the test ends.
func startTestHandler(t *testing.T, realm, dbPath string) *Handler {
	t.Helper()
	db, err := store.OpenBolt(dbPath, store.BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	h := &Handler{
		Realm:  realm,
		dbPath: dbPath,
		db:     db,
		logger: zap.NewNop(),
		sessions: &account.Sessions{Store: store.WithRealm(db, realm), Policy: testPolicy,
			Now: time.Now},
	}
	running.add(h)
	t.Cleanup(func() {
		running.remove(h)
		db.Close()
	})
	return h
}

// enrolUser stores a user with TOTP and recovery codes and one verified
// session "key-1" that the handler's cache holds.
func enrolUser(t *testing.T, h *Handler, userID string) {
	t.Helper()
	err := h.sessions.UpdateUser(userID, func(tx store.Tx) error {
		u := &account.User{
			ID:       userID,
			TOTP:     &account.TOTP{SealedSecret: []byte("sealed"), CompletedAt: time.Now()},
			Recovery: &account.Recovery{MACs: []string{"a", "b"}, CompletedAt: time.Now()},
		}
		if err := account.SaveUser(tx, u); err != nil {
			return err
		}
		return h.sessions.Verify(tx, userID, "key-1", "", account.MethodTOTP)
	})
	if err != nil {
		t.Fatalf("enrolling %q: %v", userID, err)
	}
	if _, ok, err := h.sessions.Verified(userID, "key-1"); err != nil || !ok {
		t.Fatalf("session of %q not verified after enrolment (err %v)", userID, err)
	}
}

// newAdminServer serves the admin routes as Caddy's admin endpoint does,
// errors included: a caddy.APIError becomes {"error": "…"} with its status.
func newAdminServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, route := range new(AdminAPI).Routes() {
		handler := route.Handler
		mux.HandleFunc(route.Pattern, func(w http.ResponseWriter, r *http.Request) {
			err := handler.ServeHTTP(w, r)
			if err == nil {
				return
			}
			var apiErr caddy.APIError
			if !errors.As(err, &apiErr) {
				apiErr = caddy.APIError{HTTPStatus: http.StatusInternalServerError, Message: err.Error()}
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(apiErr.HTTPStatus)
			_ = json.NewEncoder(w).Encode(apiErr)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type adminResponse struct {
	status int
	header http.Header
	body   []byte
}

func adminRequest(t *testing.T, srv *httptest.Server, method, path string) adminResponse {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", method, path, err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of %s %s: %v", method, path, err)
	}
	return adminResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

func (r adminResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q is not the expected JSON: %v", r.body, err)
	}
}

// wantAdminError checks an error response's status and that its JSON error
// message contains part.
func wantAdminError(t *testing.T, r adminResponse, status int, part string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d (body %s), want %d", r.status, r.body, status)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	if !strings.Contains(body.Error, part) {
		t.Errorf("error = %q, want it to contain %q", body.Error, part)
	}
}

func TestAdminRouteStatus(t *testing.T) {
	h := startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	enrolUser(t, h, "alice")
	srv := newAdminServer(t)

	r := adminRequest(t, srv, http.MethodGet, "/twofactor/users/default/alice")
	if r.status != http.StatusOK {
		t.Fatalf("status = %d (body %s), want 200", r.status, r.body)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	var status account.UserStatus
	r.decode(t, &status)
	if status.UserID != "alice" || !status.Enabled {
		t.Errorf("user, enabled = %q, %v; want alice, true", status.UserID, status.Enabled)
	}
	if status.Sessions != 1 {
		t.Errorf("sessions = %d, want 1", status.Sessions)
	}
	if status.RecoveryCodes == nil || status.RecoveryCodes.Remaining != 2 {
		t.Errorf("recoveryCodes = %+v, want 2 remaining", status.RecoveryCodes)
	}
}

func TestAdminRouteReset(t *testing.T) {
	h := startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	enrolUser(t, h, "alice")
	srv := newAdminServer(t)

	r := adminRequest(t, srv, http.MethodPost, "/twofactor/users/default/alice/reset")
	if r.status != http.StatusOK {
		t.Fatalf("status = %d (body %s), want 200", r.status, r.body)
	}
	var result account.ResetResult
	r.decode(t, &result)
	if len(result.Methods) != 1 || result.Methods[0] != account.MethodTOTP || result.Sessions != 1 {
		t.Errorf("reset = %+v, want TOTP and 1 session removed", result)
	}
	if _, ok, _ := h.sessions.Verified("alice", "key-1"); ok {
		t.Errorf("the running handler still verifies alice's session after the reset")
	}

	var events []account.AuditEvent
	err := h.sessions.Store.View(func(tx store.Tx) error {
		var err error
		events, err = account.ListAudit(tx, account.AuditFilter{})
		return err
	})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(events) != 1 || events[0].Event != account.AuditAdminReset || events[0].ClientIP != "127.0.0.1" {
		t.Errorf("audit = %+v, want one admin_reset from 127.0.0.1", events)
	}
}

func TestAdminRouteLiftAndRevoke(t *testing.T) {
	h := startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	enrolUser(t, h, "alice")
	srv := newAdminServer(t)

	r := adminRequest(t, srv, http.MethodPost, "/twofactor/users/default/alice/lift?method=totp")
	var lift account.LiftResult
	r.decode(t, &lift)
	if r.status != http.StatusOK || lift.UserID != "alice" {
		t.Errorf("lift: status %d, body %s; want 200 for alice", r.status, r.body)
	}
	r = adminRequest(t, srv, http.MethodPost, "/twofactor/users/default/alice/lift?method=topt")
	wantAdminError(t, r, http.StatusBadRequest, `unknown method "topt"`)

	r = adminRequest(t, srv, http.MethodPost, "/twofactor/users/default/alice/revoke")
	var revoke account.RevokeResult
	r.decode(t, &revoke)
	if r.status != http.StatusOK || revoke.Sessions != 1 {
		t.Errorf("revoke: status %d, body %s; want 200 with 1 session", r.status, r.body)
	}
	if _, ok, _ := h.sessions.Verified("alice", "key-1"); ok {
		t.Errorf("the running handler still verifies alice's session after revoke")
	}
}

func TestAdminRouteErrors(t *testing.T) {
	startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	srv := newAdminServer(t)
	tests := []struct {
		name, method, path string
		status             int
		part               string
	}{
		{"status by POST", http.MethodPost, "/twofactor/users/default/alice", 405, "use GET"},
		{"reset by GET", http.MethodGet, "/twofactor/users/default/alice/reset", 405, "use POST"},
		{"unknown action", http.MethodPost, "/twofactor/users/default/alice/delete", 404, `"delete"`},
		{"unknown realm", http.MethodGet, "/twofactor/users/other/alice", 404, `realm "other"`},
		{"unknown db", http.MethodGet, "/twofactor/users/default/alice?db=/nowhere.db", 404, "/nowhere.db"},
		{"unknown route", http.MethodGet, "/twofactor/sessions/default", 404, "no twofactor admin route"},
		{"bare prefix", http.MethodGet, "/twofactor/", 404, "no twofactor admin route"},
		{"bad limit", http.MethodGet, "/twofactor/audit/default?limit=0", 400, "limit"},
		{"big limit", http.MethodGet, "/twofactor/audit/default?limit=10001", 400, "limit"},
		{"bad since", http.MethodGet, "/twofactor/audit/default?since=yesterday", 400, "since"},
		{"unknown backup", http.MethodGet, "/twofactor/backup/nothing", 404, `"nothing"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := adminRequest(t, srv, tt.method, tt.path)
			wantAdminError(t, r, tt.status, tt.part)
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

func TestAdminSegments(t *testing.T) {
	tests := []struct {
		path string
		want []string
		err  string
	}{
		{"/twofactor/users/default/alice", []string{"users", "default", "alice"}, ""},
		{"/twofactor/users/default/a%2Fb/reset", []string{"users", "default", "a/b", "reset"}, ""},
		{"/twofactor/audit/default/", []string{"audit", "default"}, ""},
		{"/twofactor/users/%2E%2E", []string{"users", ".."}, ""},
		{"/twofactor/users/default/%zz", nil, "invalid escape"},
		{"/twofactor/users//alice", nil, "empty path segment"},
		{"/twofactor/", nil, "no twofactor admin route"},
		{"/other/users", nil, "no twofactor admin route"},
	}
	for _, tt := range tests {
		got, err := adminSegments(tt.path)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("adminSegments(%q) error = %v, want one containing %q", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("adminSegments(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
}

func TestAdminRouteEscapedUserID(t *testing.T) {
	h := startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	srv := newAdminServer(t)
	for _, id := range []string{"a/b", "..", ".", "x y?#%", "ünï"} {
		enrolUser(t, h, id)
		r := adminRequest(t, srv, http.MethodGet, "/twofactor/users/default/"+escapeSegment(id))
		if r.status != http.StatusOK {
			t.Errorf("status of %q: HTTP %d (body %s), want 200", id, r.status, r.body)
			continue
		}
		var status account.UserStatus
		r.decode(t, &status)
		if status.UserID != id || !status.Enabled {
			t.Errorf("status of %q names user %q (enabled %v), want the same user, enabled",
				id, status.UserID, status.Enabled)
		}
	}
}

func TestAdminRouteAudit(t *testing.T) {
	h := startTestHandler(t, "default", filepath.Join(t.TempDir(), "twofactor.db"))
	start := time.Now().Add(-time.Hour)
	err := h.sessions.Store.Update(func(tx store.Tx) error {
		for i, user := range []string{"alice", "bob", "alice", "alice"} {
			e := account.AuditEvent{Time: start.Add(time.Duration(i) * time.Minute), User: user,
				Event: account.AuditSecondFactorFailed}
			if err := account.AppendAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	srv := newAdminServer(t)
	since := url.QueryEscape(start.Add(time.Minute).Format(time.RFC3339Nano))
	tests := []struct {
		query string
		want  int
	}{
		{"", 4},
		{"?user=alice", 3},
		{"?user=alice&limit=2", 2},
		{"?since=" + since, 3},
		{"?since=2h", 4},
		{"?since=1s", 0},
	}
	for _, tt := range tests {
		r := adminRequest(t, srv, http.MethodGet, "/twofactor/audit/default"+tt.query)
		var response auditResponse
		r.decode(t, &response)
		if r.status != http.StatusOK || len(response.Events) != tt.want {
			t.Errorf("audit%s: HTTP %d, %d events (%s); want 200, %d", tt.query, r.status,
				len(response.Events), r.body, tt.want)
		}
	}
}

func TestAdminRouteBackup(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "twofactor.db")
	h := startTestHandler(t, "default", dbPath)
	enrolUser(t, h, "alice")
	srv := newAdminServer(t)
	for _, name := range []string{"default", escapeSegment(dbPath)} {
		r := adminRequest(t, srv, http.MethodGet, "/twofactor/backup/"+name)
		if r.status != http.StatusOK {
			t.Fatalf("backup/%s: HTTP %d (body %s), want 200", name, r.status, r.body)
		}
		if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(r.body)) {
			t.Errorf("backup/%s: Content-Length %s, body %d bytes", name, got, len(r.body))
		}
		copyPath := filepath.Join(t.TempDir(), "copy.db")
		if err := os.WriteFile(copyPath, r.body, 0o600); err != nil {
			t.Fatalf("writing the copy: %v", err)
		}
		op, err := openFileOperator(copyPath, "default")
		if err != nil {
			t.Fatalf("opening the copy: %v", err)
		}
		status, err := op.status("alice")
		op.close()
		if err != nil {
			t.Fatalf("status in the copy: %v", err)
		}
		if !status.Enabled {
			t.Errorf("backup/%s: alice has no 2FA in the copy", name)
		}
	}
}

func TestAdminRouteRealmOnTwoFiles(t *testing.T) {
	dir := t.TempDir()
	first := startTestHandler(t, "shared", filepath.Join(dir, "a.db"))
	startTestHandler(t, "shared", filepath.Join(dir, "b.db"))
	enrolUser(t, first, "alice")
	srv := newAdminServer(t)

	r := adminRequest(t, srv, http.MethodGet, "/twofactor/users/shared/alice")
	wantAdminError(t, r, http.StatusConflict, "several databases")
	r = adminRequest(t, srv, http.MethodGet, "/twofactor/backup/shared")
	wantAdminError(t, r, http.StatusConflict, "several databases")

	r = adminRequest(t, srv, http.MethodGet, "/twofactor/users/shared/alice?db="+
		url.QueryEscape(filepath.Join(dir, "a.db")))
	var status account.UserStatus
	r.decode(t, &status)
	if r.status != http.StatusOK || !status.Enabled {
		t.Errorf("status with db: HTTP %d, body %s; want 200 with alice enabled", r.status, r.body)
	}
}

func TestAdminRouteTwoHandlersOneRealm(t *testing.T) {
	// Two site blocks with the same realm and file: one handler each,
	// each with its own session cache.
	dbPath := filepath.Join(t.TempDir(), "twofactor.db")
	first := startTestHandler(t, "default", dbPath)
	second := &Handler{Realm: "default", dbPath: dbPath, db: first.db, logger: zap.NewNop(),
		sessions: &account.Sessions{Store: first.sessions.Store, Policy: testPolicy, Now: time.Now}}
	running.add(second)
	t.Cleanup(func() { running.remove(second) })
	enrolUser(t, first, "alice")
	if _, ok, _ := second.sessions.Verified("alice", "key-1"); !ok {
		t.Fatalf("the second handler does not verify alice's session before the reset")
	}

	srv := newAdminServer(t)
	if r := adminRequest(t, srv, http.MethodPost, "/twofactor/users/default/alice/revoke"); r.status != 200 {
		t.Fatalf("revoke: HTTP %d (body %s), want 200", r.status, r.body)
	}
	for i, h := range []*Handler{first, second} {
		if _, ok, _ := h.sessions.Verified("alice", "key-1"); ok {
			t.Errorf("handler %d still verifies alice's session after revoke", i)
		}
	}
}

func TestRegistryRemove(t *testing.T) {
	h := startTestHandler(t, "gone", filepath.Join(t.TempDir(), "twofactor.db"))
	running.remove(h)
	if _, err := running.realm("gone", ""); err == nil {
		t.Errorf("realm of a stopped handler still found")
	}
}
