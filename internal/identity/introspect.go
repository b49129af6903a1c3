package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Defaults and limits of the introspect source.
const (
	// DefaultIntrospectTimeout bounds an introspection request.
	DefaultIntrospectTimeout = 5 * time.Second
	// DefaultIntrospectCache is how long a logged-in identity is cached.
	DefaultIntrospectCache = 30 * time.Second
	// DefaultUserField is the JSON path of the user id in the response.
	DefaultUserField = "id"
	// DefaultEmailField is the JSON path of the email in the response.
	DefaultEmailField = "email"
	// DefaultCacheEntries bounds the identity cache, so a flood of distinct
	// credentials costs bounded memory.
	DefaultCacheEntries = 10000
	// MaxIntrospectBody is the maximum size of an introspection response
	// body, 1 MiB. A larger body fails the lookup.
	MaxIntrospectBody = 1 << 20
)

// IntrospectConfig configures the introspect identity source.
type IntrospectConfig struct {
	// URL is the app endpoint that returns the logged-in user as JSON, e.g.
	// "http://127.0.0.1:8080/api/me". Required; http or https.
	URL string
	// Timeout bounds the whole introspection request, body included.
	// Default: 5 s.
	Timeout time.Duration
	// UserField is the dotted JSON path of the user id in the response, e.g.
	// "query.userinfo.id". Default: "id".
	UserField string
	// EmailField is the dotted JSON path of the email address; a missing or
	// non-string value gives an empty email. Default: "email".
	EmailField string
	// AnonymousStatus lists the response statuses that mean "not logged
	// in". Default (nil or empty): 401 and 403.
	AnonymousStatus []int
	// AnonymousID lists canonical user ids (see CanonicalUserID) that mean
	// "not logged in", e.g. "0" for an app that returns {"id": 0}.
	AnonymousID []string
	// Cache is how long a logged-in response is reused for the same Cookie
	// and Authorization headers. Nil: 30 s. Zero: no cache, which an app
	// that keeps its session id across logout and login needs unless the
	// caller calls Forget on logout. "Not logged in" is never cached.
	Cache *time.Duration
	// CacheEntries bounds the number of cached identities. Default: 10000.
	CacheEntries int
	// Now returns the current time for cache expiry. Default: time.Now.
	// Tests set it.
	Now func() time.Time
}

// Introspect resolves identities by asking the app: a GET to its URL with the
// request's Cookie and Authorization headers. It is safe for concurrent use.
type Introspect struct {
	url             string
	client          *http.Client
	userField       string
	emailField      string
	anonymousStatus map[int]bool
	anonymousID     map[string]bool
	ttl             time.Duration
	now             func() time.Time
	cache           *identityCache // nil when caching is off
}

// NewIntrospect checks cfg, applies its defaults and returns an introspect
// source.
func NewIntrospect(cfg IntrospectConfig) (*Introspect, error) {
	target, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("introspect: invalid URL: %w", err)
	}
	if (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("introspect: URL %q must be an absolute http or https URL", cfg.URL)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("introspect: timeout %v must not be negative", cfg.Timeout)
	}
	if cfg.Cache != nil && *cfg.Cache < 0 {
		return nil, fmt.Errorf("introspect: cache %v must not be negative", *cfg.Cache)
	}
	if cfg.CacheEntries < 0 {
		return nil, fmt.Errorf("introspect: cache entries %d must not be negative", cfg.CacheEntries)
	}

	s := &Introspect{
		url:             target.String(),
		client:          newIntrospectClient(orDefault(cfg.Timeout, DefaultIntrospectTimeout)),
		userField:       orDefault(cfg.UserField, DefaultUserField),
		emailField:      orDefault(cfg.EmailField, DefaultEmailField),
		anonymousStatus: make(map[int]bool),
		anonymousID:     make(map[string]bool),
		ttl:             DefaultIntrospectCache,
		now:             cfg.Now,
	}
	statuses := cfg.AnonymousStatus
	if len(statuses) == 0 {
		statuses = []int{http.StatusUnauthorized, http.StatusForbidden}
	}
	for _, code := range statuses {
		s.anonymousStatus[code] = true
	}
	for _, id := range cfg.AnonymousID {
		s.anonymousID[id] = true
	}
	if cfg.Cache != nil {
		s.ttl = *cfg.Cache
	}
	if s.ttl > 0 {
		s.cache = newIdentityCache(orDefault(cfg.CacheEntries, DefaultCacheEntries))
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func orDefault[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// newIntrospectClient returns a client that never follows redirects, because
// the redirect itself is the response to judge. It never uses a proxy from
// the environment either, since that proxy would receive users' credentials.
func newIntrospectClient(timeout time.Duration) *http.Client {
	transport := &http.Transport{}
	if base, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = base.Clone()
	}
	transport.Proxy = nil
	transport.MaxIdleConnsPerHost = 32

	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Resolve sends r's credentials to the app's introspection URL, unless the
// cache has their identity. A request with no Cookie and no Authorization
// header (module tokens aside) is not logged in and costs no call. Nothing is
// ever rejected, because the app judged the credentials itself.
func (s *Introspect) Resolve(ctx context.Context, r *http.Request, _ Credentials) (Result, error) {
	headers := credentialHeadersOf(r)
	if headers.empty() {
		return Result{}, nil
	}

	key := headers.cacheKey()
	var generation uint64
	if s.cache != nil {
		if id, ok := s.cache.get(key, s.now()); ok {
			return Result{Identity: id}, nil
		}
		generation = s.cache.generation()
	}

	id, err := s.introspect(ctx, headers)
	if err != nil || id == nil {
		return Result{}, err
	}
	if s.cache != nil {
		s.cache.put(key, *id, s.now(), s.ttl, generation)
	}
	return Result{Identity: id}, nil
}

// Forget drops the cached identity of r's credentials, so the next request
// with them is sent to the app again. Callers use it after a logout or an
// email change. A lookup that is in flight while Forget runs does not cache
// its response.
func (s *Introspect) Forget(r *http.Request) {
	if s.cache == nil {
		return
	}
	headers := credentialHeadersOf(r)
	if headers.empty() {
		return
	}
	s.cache.forget(headers.cacheKey())
}

// introspect sends the introspection request and interprets the response. It
// returns a nil Identity for "not logged in".
func (s *Introspect) introspect(ctx context.Context, headers credentialHeaders) (*Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: building introspection request: %w", ErrUnavailable, err)
	}
	headers.copyTo(req.Header)

	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection request failed: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()

	if s.anonymousStatus[resp.StatusCode] {
		discard(resp.Body)
		return nil, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		discard(resp.Body)
		return nil, fmt.Errorf("%w: introspection returned status %d", ErrUnavailable, resp.StatusCode)
	}

	doc, err := readJSON(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection response (status %d): %w",
			ErrUnavailable, resp.StatusCode, err)
	}
	return s.identityFrom(doc)
}

// identityFrom reads the user and email fields of a 2xx response body.
func (s *Introspect) identityFrom(doc any) (*Identity, error) {
	value, found := LookupPath(doc, s.userField)
	if !found || value == nil {
		return nil, fmt.Errorf("%w: introspection response has no user field %q",
			ErrUnavailable, s.userField)
	}
	userID, ok := CanonicalUserID(value)
	if !ok {
		return nil, fmt.Errorf("%w: introspection response field %q is empty or not a valid user id",
			ErrUnavailable, s.userField)
	}
	if s.anonymousID[userID] {
		return nil, nil
	}
	// Apps that respond to anonymous visitors with 200 often say so with id 0.
	// Taken as a user, every anonymous visitor with a cookie would share
	// one account, so id 0 is only accepted once the operator names it.
	if userID == "0" {
		return nil, fmt.Errorf("%w: introspection returned user id 0, which apps use for "+
			"anonymous visitors: set anonymous_id 0 if it means not logged in", ErrUnavailable)
	}

	id := &Identity{UserID: userID}
	if email, found := LookupPath(doc, s.emailField); found {
		id.Email, _ = email.(string)
	}
	return id, nil
}

// readJSON decodes one JSON value of at most MaxIntrospectBody bytes, with
// numbers kept as json.Number so large ids keep every digit.
func readJSON(body io.Reader) (any, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxIntrospectBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(data) > MaxIntrospectBody {
		return nil, fmt.Errorf("body exceeds %d bytes", MaxIntrospectBody)
	}

	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var doc any
	if err := decoder.Decode(&doc); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body is not JSON: data after the first value")
	}
	return doc, nil
}

// discard reads a little of an unused body so the connection can be reused.
func discard(body io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
}

var _ Source = (*Introspect)(nil)
