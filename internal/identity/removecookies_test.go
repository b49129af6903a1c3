package identity

import (
	"net/http"
	"reflect"
	"testing"
)

func TestRemoveCookies(t *testing.T) {
	names := []string{"twofactor", "twofactor-csrf", "__Host-twofactor"}
	tests := []struct {
		name   string
		header http.Header
		want   http.Header
	}{
		{
			name:   "several names in one line",
			header: http.Header{"Cookie": {"session=s; twofactor=m;__Host-twofactor=h ; twofactor-csrf=c"}},
			want:   http.Header{"Cookie": {"session=s"}},
		},
		{
			name:   "names across lines and keys",
			header: http.Header{"Cookie": {"twofactor=m", "a=1"}, "cookie": {"twofactor-csrf=c"}},
			want:   http.Header{"Cookie": {"a=1"}},
		},
		{
			name:   "name only as a prefix or value",
			header: http.Header{"Cookie": {"twofactor2=x; theme=twofactor"}},
			want:   http.Header{"Cookie": {"twofactor2=x; theme=twofactor"}},
		},
		{
			name:   "no name mentioned",
			header: http.Header{"Cookie": {"a=1;b=2"}, "X-Twofactor": {"twofactor=m"}},
			want:   http.Header{"Cookie": {"a=1;b=2"}, "X-Twofactor": {"twofactor=m"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			RemoveCookies(tt.header, names...)
			if !reflect.DeepEqual(tt.header, tt.want) {
				t.Errorf("header = %v, want %v", tt.header, tt.want)
			}
		})
	}
}

func TestRemoveCookiesEmptyName(t *testing.T) {
	header := http.Header{"Cookie": {"=x; a=1"}}
	RemoveCookies(header, "")
	if got := header.Get("Cookie"); got != "=x; a=1" {
		t.Errorf("Cookie = %q, want it unchanged: an empty name matches nothing", got)
	}
}
