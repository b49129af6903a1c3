package api

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-twofactor/caddy-twofactor/internal/testkit"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/crypto"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// t0 is the fake clock's start. It is a whole minute, so it starts a TOTP
// time step.
var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// totpCode computes an RFC 6238 code (HMAC-SHA1, 30 s steps, 6 digits)
// independently of the code under test.
func totpCode(secret []byte, at time.Time) string {
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, secret)
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := uint32(sum[offset]&0x7f)<<24 | uint32(sum[offset+1])<<16 |
		uint32(sum[offset+2])<<8 | uint32(sum[offset+3])
	return fmt.Sprintf("%06d", value%1_000_000)
}

// wrongCode returns six digits that match no time step within two steps
// of at.
func wrongCode(secret []byte, at time.Time) string {
	valid := map[string]bool{}
	for offset := -2; offset <= 2; offset++ {
		valid[totpCode(secret, at.Add(time.Duration(offset)*30*time.Second))] = true
	}
	for i := 0; ; i++ {
		code := fmt.Sprintf("%06d", i)
		if !valid[code] {
			return code
		}
	}
}

func TestTOTPCodeVectors(t *testing.T) {
	// RFC 6238 appendix B, SHA1 seed, cut to the last six digits.
	secret := []byte("12345678901234567890")
	tests := []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
	}
	for _, tt := range tests {
		if got := totpCode(secret, time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("totpCode(%d) = %s, want %s", tt.unix, got, tt.want)
		}
	}
}

// fakeClock is the shared fake clock of the tests.
type fakeClock = testkit.Clock

// lockedReader makes a seeded generator safe for the parallel tests.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// fixture is a Server wired as the Caddy handler wires it, on a real bbolt
// file, with a fake clock and a seeded random source.
type fixture struct {
	t      *testing.T
	clock  *fakeClock
	db     *store.Bolt
	keys   *crypto.Keyring
	server *Server
	logs   *observer.ObservedLogs
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "twofactor.db"), store.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := crypto.Derive([]byte(strings.Repeat("test secret key ", 3)))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	realm := store.WithRealm(db, "default")
	keyring := &crypto.Keyring{Current: keys}
	sessions := &account.Sessions{
		Store:  realm,
		Policy: account.SessionPolicy{TTL: 12 * time.Hour, Idle: 30 * time.Minute},
		Now:    clock.Now,
	}
	core, logs := observer.New(zapcore.DebugLevel)
	server := &Server{
		Store:    realm,
		Keys:     keyring,
		Sessions: sessions,
		Config:   Config{Skew: 1, SudoTTL: 5 * time.Minute},
		Now:      clock.Now,
		Random:   &lockedReader{r: rand.NewChaCha8([32]byte{1})},
		Logger:   zap.New(core),
	}
	return &fixture{t: t, clock: clock, db: db, keys: keyring, server: server, logs: logs}
}

// caller returns a logged-in caller whose session key does not include
// the module cookie (a bearer credential).
func caller(userID, sessionKey string) *Caller {
	return &Caller{UserID: userID, HasCredential: true, SessionKey: sessionKey, ClientIP: "127.0.0.1"}
}

// withSudo returns a copy of c that presents the stored sudo token.
func (f *fixture) withSudo(c *Caller, token string) *Caller {
	f.t.Helper()
	copied := *c
	copied.Sudo = f.sudoRecord(token)
	if copied.Sudo == nil {
		f.t.Fatalf("sudo token %.9s… is not stored", token)
	}
	return &copied
}

// sudoRecord reads the stored record of a sudo token, or nil.
func (f *fixture) sudoRecord(token string) *account.SudoToken {
	f.t.Helper()
	var record *account.SudoToken
	err := f.server.Store.View(func(tx store.Tx) error {
		var err error
		record, err = account.GetSudoToken(tx, SudoMAC(f.keys, token))
		return err
	})
	if err != nil {
		f.t.Fatalf("GetSudoToken: %v", err)
	}
	return record
}

// forgeSudoMethod rewrites the method that minted a stored sudo token.
func (f *fixture) forgeSudoMethod(token, method string) {
	f.t.Helper()
	record := f.sudoRecord(token)
	record.Method = method
	err := f.server.Store.Update(func(tx store.Tx) error {
		return account.PutSudoToken(tx, SudoMAC(f.keys, token), record)
	})
	if err != nil {
		f.t.Fatalf("PutSudoToken: %v", err)
	}
}

// user reads the stored record of a user.
func (f *fixture) user(userID string) *account.User {
	f.t.Helper()
	u, e := f.server.User(&Caller{UserID: userID})
	if e != nil {
		f.t.Fatalf("User(%q): %v", userID, e)
	}
	return u
}

func (f *fixture) verified(c *Caller) bool {
	f.t.Helper()
	_, ok, err := f.server.Sessions.Verified(c.UserID, c.SessionKey)
	if err != nil {
		f.t.Fatalf("Verified: %v", err)
	}
	return ok
}

// do serves one API request and checks what every response must carry.
func (f *fixture) do(method, subpath string, c *Caller, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://app.example:8443"+Prefix+subpath, reader)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.server.ServeAPI(w, r, subpath, c)

	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		f.t.Errorf("%s %s: Cache-Control = %q, want no-store", method, subpath, got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
		f.t.Errorf("%s %s: Content-Type = %q, want application/json; charset=utf-8", method, subpath, got)
	}
	if !json.Valid(w.Body.Bytes()) {
		f.t.Errorf("%s %s: body is not JSON: %q", method, subpath, w.Body.String())
	}
	return w
}

// reasonPhrases are the envelope's "error" values, spelled as the HTTP
// contract spells them.
var reasonPhrases = map[int]string{
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	409: "Conflict",
	413: "Payload Too Large",
	425: "Too Early",
	429: "Too many requests",
	500: "Internal server error",
	502: "Bad Gateway",
	503: "Service Unavailable",
}

type errorBody struct {
	StatusCode   int      `json:"statusCode"`
	Error        string   `json:"error"`
	Message      string   `json:"message"`
	RetryAfter   *int64   `json:"retryAfter"`
	Methods      []string `json:"methods"`
	PartialToken string   `json:"partialToken"`
}

// wantError checks an error response's status, envelope and message. For a
// 400 the message is a sentence, checked to contain message.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, message string) errorBody {
	t.Helper()
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("decoding error body %q: %v", w.Body.String(), err)
	}
	if w.Code != status {
		t.Errorf("status = %d, want %d (body %s)", w.Code, status, w.Body.String())
	}
	if body.StatusCode != status {
		t.Errorf("statusCode = %d, want %d", body.StatusCode, status)
	}
	if want, ok := reasonPhrases[status]; ok && body.Error != want {
		t.Errorf("error = %q, want %q", body.Error, want)
	}
	if status == http.StatusBadRequest {
		if !strings.Contains(body.Message, message) {
			t.Errorf("message = %q, want a sentence containing %q", body.Message, message)
		}
	} else if body.Message != message {
		t.Errorf("message = %q, want %q", body.Message, message)
	}
	return body
}

// wantOK checks a 200 response and decodes it into v (unless v is nil).
func wantOK(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", w.Code, w.Body.String())
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("decoding %q: %v", w.Body.String(), err)
	}
}

// setup calls the setup route and returns the secret from the key URL.
func (f *fixture) setup(c *Caller) []byte {
	f.t.Helper()
	var answer struct {
		URL    string `json:"url"`
		QRCode string `json:"qrCode"`
	}
	wantOK(f.t, f.do(http.MethodPost, "/totp/setup", c, "{}"), &answer)
	return secretOf(f.t, answer.URL)
}

func secretOf(t *testing.T, keyURL string) []byte {
	t.Helper()
	u, err := url.Parse(keyURL)
	if err != nil {
		t.Fatalf("parsing key URL: %v", err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
	if err != nil {
		t.Fatalf("decoding the key URL's secret: %v", err)
	}
	return secret
}

// enroll sets up and enables TOTP for c now and returns the secret and
// the recovery codes.
func (f *fixture) enroll(c *Caller) ([]byte, []string) {
	f.t.Helper()
	secret := f.setup(c)
	var answer struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	body := fmt.Sprintf(`{"totp":%q}`, totpCode(secret, f.clock.Now()))
	wantOK(f.t, f.do(http.MethodPost, "/totp/enable", c, body), &answer)
	return secret, answer.RecoveryCodes
}

// authenticate moves to the next time step, passes TOTP and returns the
// sudo token.
func (f *fixture) authenticate(c *Caller, secret []byte) string {
	f.t.Helper()
	f.clock.Advance(30 * time.Second)
	var answer struct {
		SudoToken string `json:"sudoToken"`
	}
	body := fmt.Sprintf(`{"totp":%q}`, totpCode(secret, f.clock.Now()))
	wantOK(f.t, f.do(http.MethodPost, "/totp/authenticate", c, body), &answer)
	return answer.SudoToken
}

func TestServeAPIUnknownRoute(t *testing.T) {
	f := newFixture(t)
	for _, subpath := range []string{"/nope", "/totp/setup/x", "/totp/", "/email", "/recovery-code"} {
		w := f.do(http.MethodGet, subpath, caller("alice", "key-a"), "")
		wantError(t, w, http.StatusNotFound, CodeNotFound)
	}
}

func TestServeAPIWrongMethod(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ method, subpath string }{
		{http.MethodGet, "/totp/setup"},
		{http.MethodPost, ""},
		{http.MethodDelete, ""},
		{http.MethodPost, "/totp/next-guess"},
		{http.MethodGet, "/totp"},
		{http.MethodPut, "/recovery-code/reset"},
	}
	for _, tt := range tests {
		w := f.do(tt.method, tt.subpath, caller("alice", "key-a"), "")
		wantError(t, w, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	}
}

func TestServeAPIWrongMethodAllow(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodGet, "/totp/setup", caller("alice", "key-a"), "")
	if got := w.Header().Get("Allow"); got != http.MethodPost {
		t.Errorf("Allow = %q, want POST", got)
	}
}

// allRoutes lists the status, TOTP and recovery code routes, each with a
// body its handler accepts. The email OTP routes need a mailer and are
// listed in emailRoutes.
var allRoutes = []struct{ method, subpath, body string }{
	{http.MethodGet, "", ""},
	{http.MethodPost, "/totp/setup", "{}"},
	{http.MethodPost, "/totp/enable", `{"totp":"123456"}`},
	{http.MethodPost, "/totp/authenticate", `{"totp":"123456"}`},
	{http.MethodGet, "/totp/next-guess", ""},
	{http.MethodDelete, "/totp", ""},
	{http.MethodPost, "/recovery-code/authenticate", `{"recoveryCode":"0123456789ABCDEF"}`},
	{http.MethodGet, "/recovery-code/next-guess", ""},
	{http.MethodPost, "/recovery-code/reset", "{}"},
}

var emailRoutes = []struct{ method, subpath, body string }{
	{http.MethodPost, "/email-otp/setup", `{"email":"a@example.com"}`},
	{http.MethodPost, "/email-otp/enable", `{"otp":"123456"}`},
	{http.MethodPost, "/email-otp/challenge", "{}"},
	{http.MethodPost, "/email-otp/authenticate", `{"otp":"123456"}`},
	{http.MethodGet, "/email-otp/next-email", ""},
	{http.MethodDelete, "/email-otp", ""},
}

func TestServeAPINoCredential(t *testing.T) {
	f := newFixture(t)
	for _, rt := range append(allRoutes, emailRoutes...) {
		t.Run(rt.method+rt.subpath, func(t *testing.T) {
			w := f.do(rt.method, rt.subpath, &Caller{}, rt.body)
			wantError(t, w, http.StatusUnauthorized, CodeNoTokenProvided)

			w = f.do(rt.method, rt.subpath, &Caller{HasCredential: true}, rt.body)
			wantError(t, w, http.StatusUnauthorized, CodeInvalidToken)
		})
	}
}

func TestServeAPISudoRequired(t *testing.T) {
	f := newFixture(t)
	for _, rt := range []struct{ method, subpath string }{
		{http.MethodDelete, "/totp"},
		{http.MethodDelete, "/email-otp"},
		{http.MethodPost, "/recovery-code/reset"},
	} {
		w := f.do(rt.method, rt.subpath, caller("alice", "key-a"), "{}")
		wantError(t, w, http.StatusUnauthorized, CodeSudoTokenRequired)
	}
}

func TestServeAPIBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	big := `{"totp":"` + strings.Repeat("1", MaxBodySize) + `"}`

	w := f.do(http.MethodPost, "/totp/enable", caller("alice", "key-a"), big)
	wantError(t, w, http.StatusRequestEntityTooLarge, CodePayloadTooLarge)

	// Without a Content-Length the limit applies while reading.
	r := httptest.NewRequest(http.MethodPost, Prefix+"/totp/enable", io.MultiReader(strings.NewReader(big)))
	r.ContentLength = -1
	rec := httptest.NewRecorder()
	f.server.ServeAPI(rec, r, "/totp/enable", caller("alice", "key-a"))
	wantError(t, rec, http.StatusRequestEntityTooLarge, CodePayloadTooLarge)
}

func TestServeAPIBodyAtLimit(t *testing.T) {
	f := newFixture(t)
	f.setup(caller("alice", "key-a"))
	padding := strings.Repeat(" ", MaxBodySize-len(`{"totp":"12345"}`))
	w := f.do(http.MethodPost, "/totp/enable", caller("alice", "key-a"), `{"totp":"12345"}`+padding)
	wantError(t, w, http.StatusBadRequest, badTOTP)
}

func TestServeAPIBadRequestSentences(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, _ := f.enroll(alice)
	sudo := f.withSudo(alice, f.authenticate(alice, secret))

	tests := []struct {
		name, method, subpath string
		c                     *Caller
		body                  string
		want                  string
	}{
		{"setup unknown field", http.MethodPost, "/totp/setup", sudo, `{"x":"1"}`, `"x" is not a known field`},
		{"setup array", http.MethodPost, "/totp/setup", sudo, `[]`, "JSON object"},
		{"enable missing", http.MethodPost, "/totp/enable", alice, `{}`, badTOTP},
		{"enable short", http.MethodPost, "/totp/enable", alice, `{"totp":"12345"}`, badTOTP},
		{"enable long", http.MethodPost, "/totp/enable", alice, `{"totp":"1234567"}`, badTOTP},
		{"enable letters", http.MethodPost, "/totp/enable", alice, `{"totp":"12a456"}`, badTOTP},
		{"enable number", http.MethodPost, "/totp/enable", alice, `{"totp":123456}`, "totp must be a string"},
		{"enable duplicate", http.MethodPost, "/totp/enable", alice, `{"totp":"123456","TOTP":"123456"}`,
			`"TOTP" must appear only once`},
		{"authenticate spaces", http.MethodPost, "/totp/authenticate", alice, `{"totp":" 123456"}`, badTOTP},
		{"authenticate unknown", http.MethodPost, "/totp/authenticate", alice, `{"code":"123456"}`,
			`"code" is not a known field: expected totp`},
		{"recovery short", http.MethodPost, "/recovery-code/authenticate", alice, `{"recoveryCode":"ABC"}`,
			"recoveryCode must be a string of 16 characters"},
		{"recovery missing", http.MethodPost, "/recovery-code/authenticate", alice, `{}`,
			"recoveryCode must be a string of 16 characters"},
		{"recovery null", http.MethodPost, "/recovery-code/authenticate", alice, `{"recoveryCode":null}`,
			"recoveryCode must be a string"},
		{"delete body", http.MethodDelete, "/totp", sudo, `{"totp":"123456"}`, `"totp" is not a known field`},
		{"reset trailing", http.MethodPost, "/recovery-code/reset", sudo, `{} {}`, "exactly one JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(tt.method, tt.subpath, tt.c, tt.body)
			wantError(t, w, http.StatusBadRequest, tt.want)
		})
	}

	// None of those cost a guess or changed a method.
	u := f.user("alice")
	if u.TOTP == nil || u.Recovery == nil || len(u.Recovery.MACs) != 10 {
		t.Errorf("user after bad requests = %+v, want TOTP on and 10 recovery codes", u)
	}
	if g := u.Guess(account.MethodTOTP); g.Consecutive != 0 {
		t.Errorf("TOTP failures after bad requests = %d, want 0", g.Consecutive)
	}
	if g := u.Guess(account.MethodRecoveryCode); g.Consecutive != 0 {
		t.Errorf("recovery code failures after bad requests = %d, want 0", g.Consecutive)
	}
}

func TestServeAPIStoreUnavailable(t *testing.T) {
	f := newFixture(t)
	f.db.Close()
	for _, rt := range allRoutes {
		t.Run(rt.method+rt.subpath, func(t *testing.T) {
			c := caller("alice", "key-a")
			c.Sudo = &account.SudoToken{UserID: "alice", SessionKey: "key-a", Method: account.MethodTOTP}
			w := f.do(rt.method, rt.subpath, c, rt.body)
			wantError(t, w, http.StatusServiceUnavailable, CodeStoreUnavailable)
		})
	}
	if n := f.logs.FilterMessage("store unavailable").Len(); n == 0 {
		t.Error("no log line for the unavailable store")
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	f := newFixture(t)
	alice := caller("alice", "key-a")
	secret, codes := f.enroll(alice)
	sudo := f.authenticate(alice, secret)
	f.do(http.MethodPost, "/totp/authenticate", alice, `{"totp":"`+wrongCode(secret, f.clock.Now())+`"}`)
	f.do(http.MethodPost, "/recovery-code/authenticate", alice, `{"recoveryCode":"`+codes[0]+`"}`)

	secrets := append([]string{sudo, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret),
		totpCode(secret, f.clock.Now())}, codes...)
	for _, entry := range f.logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line %q contains a secret", line)
			}
		}
	}
	if f.logs.Len() == 0 {
		t.Error("no log lines at all, want one per enrolment and verification")
	}
}
