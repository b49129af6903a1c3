package hold

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/caddy-twofactor/caddy-twofactor/internal/identity"
)

// Rule describes how to read one app's login responses.
type Rule struct {
	// Carriers are the app's credential carriers.
	Carriers []identity.Carrier
	// TokenField is the dotted JSON path of a token in the response body;
	// empty when the app logs in by cookie only.
	TokenField string
	// RefreshField is the dotted JSON path of a refresh token, released
	// as refreshToken. Empty: none.
	RefreshField string
	// SuccessStatus lists the statuses of a successful login. Empty: any
	// 2xx, and a 3xx that sets a carrier cookie.
	SuccessStatus []int
}

// Issued is the credential a login response issued.
type Issued struct {
	// Header holds the credential as a request would carry it: a Cookie
	// header with the carrier cookies the response set, or an Authorization
	// header with the token.
	Header http.Header
	// AccessToken and RefreshToken are the tokens of the body, if any.
	AccessToken, RefreshToken string
}

// Succeeded reports whether the response is a successful login.
func (rule *Rule) Succeeded(a *Answer) bool {
	if len(rule.SuccessStatus) > 0 {
		for _, status := range rule.SuccessStatus {
			if a.Status == status {
				return true
			}
		}
		return false
	}
	switch {
	case a.Status >= 200 && a.Status < 300:
		return true
	case a.Status >= 300 && a.Status < 400:
		return len(rule.carrierCookies(a)) > 0
	}
	return false
}

// Credential returns the credential the response issued, or nil when it
// issued none the module watches.
func (rule *Rule) Credential(a *Answer) *Issued {
	issued := &Issued{Header: http.Header{}}
	if cookies := rule.carrierCookies(a); len(cookies) > 0 {
		pairs := make([]string, len(cookies))
		for i, c := range cookies {
			pairs[i] = c.Name + "=" + c.Value
		}
		issued.Header.Set("Cookie", strings.Join(pairs, "; "))
	}
	if rule.TokenField != "" {
		if token := bodyString(a.Body, rule.TokenField); token != "" {
			issued.AccessToken = token
			if header := rule.tokenHeader(); header != nil {
				issued.Header.Set(header.Name, strings.TrimSpace(header.Scheme+" "+token))
			}
		}
		issued.RefreshToken = bodyString(a.Body, rule.RefreshField)
	}
	if len(issued.Header) == 0 {
		return nil
	}
	return issued
}

// carrierCookies returns the carrier cookies the response sets with a value.
func (rule *Rule) carrierCookies(a *Answer) []*http.Cookie {
	var out []*http.Cookie
	for _, line := range a.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Value == "" || c.MaxAge < 0 {
			continue
		}
		for _, carrier := range rule.Carriers {
			if carrier.Kind == identity.CarrierCookie && carrier.Name == c.Name {
				out = append(out, c)
			}
		}
	}
	return out
}

// tokenHeader returns the header carrier a body token travels in: the
// first configured header carrier.
func (rule *Rule) tokenHeader() *identity.Carrier {
	for i := range rule.Carriers {
		if rule.Carriers[i].Kind == identity.CarrierHeader {
			return &rule.Carriers[i]
		}
	}
	return nil
}

// bodyString returns the string at a dotted path of a JSON body, or "".
func bodyString(body []byte, path string) string {
	if path == "" {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return ""
	}
	value, ok := identity.LookupPath(doc, path)
	if !ok {
		return ""
	}
	s, _ := value.(string)
	return s
}
