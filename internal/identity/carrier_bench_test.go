package identity

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkExtract measures finding the carriers of the demo configuration
// (a session cookie, a remember-me cookie and a bearer header) in a
// browser request with a few unrelated cookies and the module cookie.
func BenchmarkExtract(b *testing.B) {
	carriers := []Carrier{
		{Kind: CarrierCookie, Name: "session"},
		{Kind: CarrierCookie, Name: "remember"},
		{Kind: CarrierHeader, Name: "Authorization", Scheme: "Bearer"},
	}
	tests := []struct {
		name   string
		header http.Header
	}{
		{"cookie", http.Header{"Cookie": {
			"theme=dark; session=GJ0t1Yy6C9nJ3kq2F8m4vXzR7pL5wQeA1sD0fH9bK2c; lang=en; twofactor=m0dUl3c00k13",
		}}},
		{"bearer", http.Header{"Authorization": {"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}}},
		{"anonymous", http.Header{"Accept": {"text/html"}}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
			r.Header = tt.header
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Extract(r, carriers); err != nil {
					b.Fatalf("Extract: %v", err)
				}
			}
		})
	}
}
