package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"
)

// rememberCookieName is the name of the remember-me cookie.
const rememberCookieName = "remember"

// maxBodyBytes limits request bodies, 64 KiB.
const maxBodyBytes = 64 << 10

// server is the legacy app: its settings, state and mailer.
type server struct {
	cfg    config
	now    func() time.Time
	log    *slog.Logger
	state  *state
	mailer *mailer
	// last keeps the last request per path with -echo, else nil.
	last *lastRequests
}

// newServer returns the app's handler with fresh in-memory state. Paths are
// matched by http.ServeMux with Go 1.22 patterns, so the app cleans and
// redirects paths exactly as ServeMux does.
func newServer(cfg config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(cfg.Log, nil))
	s := &server{
		cfg:    cfg,
		now:    cfg.Now,
		log:    logger,
		state:  newState(cfg.Now),
		mailer: &mailer{path: cfg.ResetCodesFile, log: logger},
	}
	if cfg.Echo {
		s.last = &lastRequests{}
		return s.logRequests(s.last.record(s.routes()))
	}
	return s.logRequests(s.routes())
}

func (s *server) routes() *http.ServeMux {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLoginForm)
	mux.HandleFunc("POST /logout", s.handleLogout)

	mux.HandleFunc("GET /dashboard", s.protectedPage("Dashboard", "Your numbers at a glance.", false))
	mux.HandleFunc("GET /settings", s.protectedPage("Settings", "Change your password and email here.", false))
	mux.HandleFunc("GET /reports/annual", s.protectedPage("Annual report", "Revenue went up.", false))
	mux.HandleFunc("GET /admin", s.protectedPage("Admin", "Only the administrator sees this.", true))

	mux.HandleFunc("POST /api/login", s.handleAPILogin)
	mux.HandleFunc("POST /api/refresh", s.handleAPIRefresh)
	mux.HandleFunc("GET /api/me", s.handleMe)
	mux.HandleFunc("GET /api/items", s.handleItems)

	mux.HandleFunc("POST /user/password/reset/send", s.handleSendResetCode)
	mux.HandleFunc("POST /v1/auth/forgot-password", s.handleSendResetCode)
	mux.HandleFunc("POST /user/password/reset/validate", s.handleValidateResetCode)
	mux.HandleFunc("PUT /user/password/otp", s.handleResetPassword)
	mux.HandleFunc("PUT /user/password/old-password", s.handleChangePassword)
	mux.HandleFunc("POST /user/email/initiate", s.handleInitiateEmailChange)
	mux.HandleFunc("PUT /user/email", s.handleChangeEmail)

	if s.cfg.Echo {
		mux.HandleFunc("GET /_echo", s.handleEcho)
		mux.HandleFunc("GET /_echo/last", s.last.handleEchoLast)
	}
	if s.cfg.AltReset {
		s.altResetRoutes(mux)
	}
	return mux
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs one line per request: method, path and status. Queries,
// headers and bodies stay out of the log because they carry credentials.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status)
	})
}

// writeJSON sends v as a JSON response with Cache-Control: no-store,
// because many responses carry tokens or personal data.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError sends {"error": message}.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

// emptyObject is the {} response body of routes that return no data.
var emptyObject = struct{}{}

// readJSON decodes a JSON object body of at most maxBodyBytes into dst. When
// it cannot, it writes the 400 (or 413) response itself and returns false.
// Unknown fields are ignored, as a lenient legacy app does.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}

	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
	default:
		writeError(w, http.StatusBadRequest, "invalid JSON body")
	}
	return false
}

// isJSONRequest reports whether the request body is declared as JSON.
func isJSONRequest(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "application/json"
}

// setCredentialCookie sets an HttpOnly, SameSite=Lax cookie on path /.
// maxAge is in seconds: 0 makes a browser-session cookie, -1 deletes it.
func setCredentialCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}
