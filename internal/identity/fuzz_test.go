package identity

import (
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// FuzzExtractCookies checks Extract's cookie handling against Go's own
// parser: every sid cookie that Go reads must be seen, and a request in
// which Go reads two of them must be ambiguous.
func FuzzExtractCookies(f *testing.F) {
	seeds := [][2]string{
		{"sid=A", ""},
		{"sid=A; sid=B", ""},
		{"sid=A", "sid=B"},
		{"SID=A; sid=B", "x=1"},
		{` sid = "A" ;`, "theme=dark"},
		{"sid=a\\b; sid=c", ""},
		{"sid", "sid="},
		{";;sid=;;", "sid=\"\""},
		{"xsid=1; sidx=2", "s id=3"},
		{"sid=\x00", "sid=\u00e9"},
	}
	for _, seed := range seeds {
		f.Add(seed[0], seed[1])
	}

	f.Fuzz(func(t *testing.T, line1, line2 string) {
		header := http.Header{"Cookie": {line1, line2}}
		goCookies := goCookiesNamed(header, "sid")

		creds, err := Extract(requestWith(header.Clone()), []Carrier{sidCookie})
		if len(goCookies) > 1 && !errors.Is(err, ErrAmbiguous) {
			t.Fatalf("Go reads %d sid cookies, Extract error = %v, want ErrAmbiguous", len(goCookies), err)
		}
		if err != nil && !errors.Is(err, ErrAmbiguous) {
			t.Fatalf("Extract error = %v, want nil or ErrAmbiguous", err)
		}
		if err == nil && len(goCookies) == 1 && goCookies[0].Value != "" {
			if len(creds.Presented) != 1 || creds.Presented[0].Value != goCookies[0].Value {
				t.Fatalf("Presented = %q, want Go's value %q", values(creds.Presented), goCookies[0].Value)
			}
		}

		RemoveCarrier(header, sidCookie)
		if left := goCookiesNamed(header, "sid"); len(left) != 0 {
			t.Fatalf("Go still reads %d sid cookies after RemoveCarrier", len(left))
		}
		after, err := Extract(requestWith(header), []Carrier{sidCookie})
		if err != nil || len(after.Presented) != 0 {
			t.Fatalf("Extract after RemoveCarrier = %q, %v, want nothing", values(after.Presented), err)
		}
	})
}

func goCookiesNamed(header http.Header, name string) []*http.Cookie {
	var named []*http.Cookie
	for _, c := range (&http.Request{Header: header}).Cookies() {
		if c.Name == name {
			named = append(named, c)
		}
	}
	return named
}

var (
	plainInteger = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	jsonNumber   = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	// smallExponent keeps big.Rat's work small: it expands exponents.
	smallExponent = regexp.MustCompile(`^[^eE]*([eE][+-]?[0-9]{1,3})?$`)
)

// FuzzCanonicalUserID checks numbers against math/big and the output form.
func FuzzCanonicalUserID(f *testing.F) {
	for _, seed := range []string{
		"0", "1", "-1", "1.0", "1e3", "1E+3", "1500e-3", "1.5", "-0", "-0.0e9", "01",
		"12345678901234567891", "1e63", "1e64", "1e999999999999", "0.000", ".5", "1.", "",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got, ok := CanonicalUserID(json.Number(s))
		if ok {
			if !plainInteger.MatchString(got) || got == "-0" {
				t.Fatalf("CanonicalUserID(%q) = %q, want a plain integer", s, got)
			}
			if again, ok := CanonicalUserID(json.Number(got)); !ok || again != got {
				t.Fatalf("CanonicalUserID(%q) = %q, %v, want itself", got, again, ok)
			}
		}

		if jsonNumber.MatchString(s) && smallExponent.MatchString(s) && len(s) < 200 {
			rat, valid := new(big.Rat).SetString(s)
			if !valid {
				t.Fatalf("big.Rat rejects JSON number %q", s)
			}
			negativeZero := rat.Sign() == 0 && strings.HasPrefix(s, "-")
			digits := len(strings.TrimPrefix(rat.Num().String(), "-"))
			want := rat.IsInt() && !negativeZero && digits <= MaxUserIDDigits
			if ok != want {
				t.Fatalf("CanonicalUserID(%q) ok = %v, want %v", s, ok, want)
			}
			if ok && got != rat.Num().String() {
				t.Fatalf("CanonicalUserID(%q) = %q, want %q", s, got, rat.Num().String())
			}
		} else if ok && !jsonNumber.MatchString(s) {
			t.Fatalf("CanonicalUserID(%q) = %q, want rejected: not a JSON number", s, got)
		}

		if got, ok := CanonicalUserID(s); ok != (s != "") || (ok && got != s) {
			t.Fatalf("CanonicalUserID(string %q) = %q, %v, want it unchanged", s, got, ok)
		}
	})
}

// FuzzLookupPath checks that a dotted path walks one segment at a time.
func FuzzLookupPath(f *testing.F) {
	f.Add(`{"query": {"userinfo": {"id": 7}}}`, "query.userinfo.id")
	f.Add(`{"list": [{"id": 1}, {"id": 2}]}`, "list.1.id")
	f.Add(`{"a": null}`, "a")
	f.Add(`{"a": {"": 1}}`, "a.")
	f.Add(`[1, 2, 3]`, "01")
	f.Add(`"text"`, "id")

	f.Fuzz(func(t *testing.T, text, path string) {
		decoder := json.NewDecoder(strings.NewReader(text))
		decoder.UseNumber()
		var doc any
		if decoder.Decode(&doc) != nil {
			return
		}

		got, found := LookupPath(doc, path)
		if strings.Contains("."+path+".", "..") && found {
			t.Fatalf("LookupPath(%q) found %#v, want an empty segment to find nothing", path, got)
		}
		head, tail, dotted := strings.Cut(path, ".")
		if !dotted || head == "" || tail == "" {
			return
		}
		inner, innerFound := LookupPath(doc, head)
		want, wantFound := LookupPath(inner, tail)
		wantFound = wantFound && innerFound
		if found != wantFound || (found && !reflect.DeepEqual(got, want)) {
			t.Fatalf("LookupPath(%q) = %#v, %v, want %#v, %v", path, got, found, want, wantFound)
		}
	})
}
