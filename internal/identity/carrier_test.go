package identity

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

var (
	sidCookie   = Carrier{Kind: CarrierCookie, Name: "sid"}
	bearer      = Carrier{Kind: CarrierHeader, Name: "Authorization", Scheme: "Bearer"}
	basic       = Carrier{Kind: CarrierHeader, Name: "Authorization", Scheme: "Basic"}
	authRaw     = Carrier{Kind: CarrierHeader, Name: "Authorization"}
	tokenHeader = Carrier{Kind: CarrierHeader, Name: "X-Auth-Token"}
)

func requestWith(header http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header = header
	return r
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name     string
		header   http.Header
		carriers []Carrier
		want     []Presented
		wantAny  bool
		wantErr  error
	}{
		{
			name:     "no headers",
			header:   http.Header{},
			carriers: []Carrier{sidCookie, bearer},
		},
		{
			name:     "cookie",
			header:   http.Header{"Cookie": {"a=1; sid=abc; b=2"}},
			carriers: []Carrier{sidCookie},
			want:     []Presented{{sidCookie, "abc"}},
			wantAny:  true,
		},
		{
			name:     "other cookie only",
			header:   http.Header{"Cookie": {"theme=dark"}},
			carriers: []Carrier{sidCookie},
			wantAny:  true,
		},
		{
			name:     "duplicate cookie in one header",
			header:   http.Header{"Cookie": {"sid=A; sid=B"}},
			carriers: []Carrier{sidCookie},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "duplicate cookie across headers",
			header:   http.Header{"Cookie": {"sid=A", "x=1; sid=B"}},
			carriers: []Carrier{sidCookie},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "duplicate cookie with same value",
			header:   http.Header{"Cookie": {"sid=A; sid=A"}},
			carriers: []Carrier{sidCookie},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "duplicate cookie with value Go drops",
			header:   http.Header{"Cookie": {"sid=A; sid=\"x\\y\""}},
			carriers: []Carrier{sidCookie},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "duplicate cookie without value",
			header:   http.Header{"Cookie": {"sid=A; sid"}},
			carriers: []Carrier{sidCookie},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "duplicate cookie under lowercase key",
			header:   http.Header{"Cookie": {"sid=A"}, "cookie": {"sid=B"}},
			carriers: []Carrier{sidCookie},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "cookie names are case-sensitive",
			header:   http.Header{"Cookie": {"SID=B; sid=A"}},
			carriers: []Carrier{sidCookie},
			want:     []Presented{{sidCookie, "A"}},
			wantAny:  true,
		},
		{
			name:     "cookie name trimmed",
			header:   http.Header{"Cookie": {" \tsid\t =A ;"}},
			carriers: []Carrier{sidCookie},
			want:     []Presented{{sidCookie, "A"}},
			wantAny:  true,
		},
		{
			name:     "quoted cookie value",
			header:   http.Header{"Cookie": {`sid="A"`}},
			carriers: []Carrier{sidCookie},
			want:     []Presented{{sidCookie, "A"}},
			wantAny:  true,
		},
		{
			name:     "cookie value Go drops is presented raw",
			header:   http.Header{"Cookie": {"sid=a\\b"}},
			carriers: []Carrier{sidCookie},
			want:     []Presented{{sidCookie, "a\\b"}},
			wantAny:  true,
		},
		{
			name:     "empty cookie not presented",
			header:   http.Header{"Cookie": {"sid="}},
			carriers: []Carrier{sidCookie},
			wantAny:  true,
		},
		{
			name:     "prefixed cookie name is another cookie",
			header:   http.Header{"Cookie": {"xsid=A; sidx=B; sid=C"}},
			carriers: []Carrier{sidCookie},
			want:     []Presented{{sidCookie, "C"}},
			wantAny:  true,
		},
		{
			name:     "bearer",
			header:   http.Header{"Authorization": {"Bearer tok"}},
			carriers: []Carrier{bearer},
			want:     []Presented{{bearer, "tok"}},
			wantAny:  true,
		},
		{
			name:     "bearer scheme case-insensitive",
			header:   http.Header{"Authorization": {"bEARER   tok "}},
			carriers: []Carrier{bearer},
			want:     []Presented{{bearer, "tok"}},
			wantAny:  true,
		},
		{
			name:     "configured scheme case-insensitive",
			header:   http.Header{"Authorization": {"Bearer tok"}},
			carriers: []Carrier{{Kind: CarrierHeader, Name: "authorization", Scheme: "BEARER"}},
			want: []Presented{
				{Carrier{Kind: CarrierHeader, Name: "authorization", Scheme: "BEARER"}, "tok"},
			},
			wantAny: true,
		},
		{
			name:     "other scheme not presented",
			header:   http.Header{"Authorization": {"Basic dTpw"}},
			carriers: []Carrier{bearer},
			wantAny:  true,
		},
		{
			name:     "scheme without value",
			header:   http.Header{"Authorization": {"Bearer"}},
			carriers: []Carrier{bearer},
			wantAny:  true,
		},
		{
			name:     "basic and bearer carriers",
			header:   http.Header{"Authorization": {"Basic dTpw"}},
			carriers: []Carrier{bearer, basic},
			want:     []Presented{{basic, "dTpw"}},
			wantAny:  true,
		},
		{
			name:     "header without scheme",
			header:   http.Header{"Authorization": {"Token abc"}},
			carriers: []Carrier{authRaw},
			want:     []Presented{{authRaw, "Token abc"}},
			wantAny:  true,
		},
		{
			name:     "two authorization headers",
			header:   http.Header{"Authorization": {"Bearer a", "Bearer b"}},
			carriers: []Carrier{bearer},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "two authorization headers unconfigured",
			header:   http.Header{"Authorization": {"Basic a", "Basic b"}},
			carriers: []Carrier{sidCookie},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "authorization beside module token",
			header:   http.Header{"Authorization": {"Bearer sudo_x", "Bearer tok"}},
			carriers: []Carrier{bearer},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "authorization under two key spellings",
			header:   http.Header{"Authorization": {"Bearer a"}, "authorization": {"Bearer b"}},
			carriers: []Carrier{bearer},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "sudo token skipped",
			header:   http.Header{"Authorization": {"Bearer sudo_abc"}},
			carriers: []Carrier{bearer},
			wantAny:  true,
		},
		{
			name:     "partial token skipped",
			header:   http.Header{"Authorization": {"bearer partial_abc"}},
			carriers: []Carrier{bearer},
			wantAny:  true,
		},
		{
			name:     "module token skipped without scheme",
			header:   http.Header{"Authorization": {"Bearer sudo_abc"}},
			carriers: []Carrier{authRaw},
			wantAny:  true,
		},
		{
			name:     "module prefix in basic is a credential",
			header:   http.Header{"Authorization": {"Basic sudo_abc"}},
			carriers: []Carrier{basic},
			want:     []Presented{{basic, "sudo_abc"}},
			wantAny:  true,
		},
		{
			name:     "custom header",
			header:   http.Header{"X-Auth-Token": {"t1"}},
			carriers: []Carrier{tokenHeader},
			want:     []Presented{{tokenHeader, "t1"}},
		},
		{
			name:     "custom header twice",
			header:   http.Header{"X-Auth-Token": {"t1", "t2"}},
			carriers: []Carrier{tokenHeader},
			wantErr:  ErrAmbiguous,
		},
		{
			name:     "custom header under lowercase key",
			header:   http.Header{"x-auth-token": {"t1"}},
			carriers: []Carrier{tokenHeader},
			want:     []Presented{{tokenHeader, "t1"}},
		},
		{
			name:     "configuration order",
			header:   http.Header{"Cookie": {"sid=c"}, "Authorization": {"Bearer b"}},
			carriers: []Carrier{bearer, sidCookie},
			want:     []Presented{{bearer, "b"}, {sidCookie, "c"}},
			wantAny:  true,
		},
		{
			name:     "carrier configured twice",
			header:   http.Header{"Cookie": {"sid=c"}},
			carriers: []Carrier{sidCookie, sidCookie},
			want:     []Presented{{sidCookie, "c"}},
			wantAny:  true,
		},
		{
			name:     "empty cookie name matches nothing",
			header:   http.Header{"Cookie": {"; =x; ;"}},
			carriers: []Carrier{{Kind: CarrierCookie}},
			wantAny:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract(requestWith(tt.header), tt.carriers)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Extract error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if !reflect.DeepEqual(got.Presented, tt.want) {
				t.Errorf("Presented = %#v, want %#v", values(got.Presented), values(tt.want))
			}
			if got.Any != tt.wantAny {
				t.Errorf("Any = %v, want %v", got.Any, tt.wantAny)
			}
		})
	}
}

// values shows presented carriers with their values, which String hides.
func values(presented []Presented) []string {
	var out []string
	for _, p := range presented {
		out = append(out, p.Carrier.String()+"="+p.Value)
	}
	return out
}

func TestExtractNilRequest(t *testing.T) {
	got, err := Extract(nil, []Carrier{sidCookie})
	if err != nil || got.Any || got.Presented != nil {
		t.Errorf("Extract(nil) = %+v, %v, want empty, nil", got, err)
	}
}

func TestPresentedHidesValue(t *testing.T) {
	p := Presented{Carrier: bearer, Value: "secret-token"}
	for _, format := range []string{"%v", "%s", "%+v", "%#v"} {
		if got := fmt.Sprintf(format, p); strings.Contains(got, "secret-token") {
			t.Errorf("Sprintf(%q) = %q, want no credential", format, got)
		}
	}
}

func TestIsModuleToken(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"Bearer sudo_abc", true},
		{"bearer partial_abc", true},
		{"Bearer  sudo_abc", true},
		{"Bearer abc", false},
		{"Basic sudo_abc", false},
		{"Bearer Sudo_abc", false},
		{"sudo_abc", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsModuleToken(tt.value); got != tt.want {
			t.Errorf("IsModuleToken(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestRemoveCarrier(t *testing.T) {
	tests := []struct {
		name    string
		header  http.Header
		carrier Carrier
		want    http.Header
	}{
		{
			name:    "cookie among others",
			header:  http.Header{"Cookie": {"a=1; sid=x;b=2", "sid=y"}, "Accept": {"*/*"}},
			carrier: sidCookie,
			want:    http.Header{"Cookie": {"a=1; b=2"}, "Accept": {"*/*"}},
		},
		{
			name:    "cookie lines untouched without it",
			header:  http.Header{"Cookie": {"a=1;b=2"}},
			carrier: sidCookie,
			want:    http.Header{"Cookie": {"a=1;b=2"}},
		},
		{
			name:    "cookie with trimmed name",
			header:  http.Header{"Cookie": {" sid =x", "SID=y"}},
			carrier: sidCookie,
			want:    http.Header{"Cookie": {"SID=y"}},
		},
		{
			name:    "header any case and scheme",
			header:  http.Header{"Authorization": {"Basic x"}, "authorization": {"Bearer y"}},
			carrier: bearer,
			want:    http.Header{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			RemoveCarrier(tt.header, tt.carrier)
			if !reflect.DeepEqual(tt.header, tt.want) {
				t.Errorf("header = %v, want %v", tt.header, tt.want)
			}
		})
	}
}

func TestRemoveCarrierThenExtract(t *testing.T) {
	header := http.Header{"Cookie": {"sid=A; x=1", "sid=B"}}
	RemoveCarrier(header, sidCookie)

	got, err := Extract(requestWith(header), []Carrier{sidCookie})
	if err != nil {
		t.Fatalf("Extract error = %v, want nil", err)
	}
	if len(got.Presented) != 0 {
		t.Errorf("Presented = %v, want none", values(got.Presented))
	}
}
