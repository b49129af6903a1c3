package main

import (
	"net/http"
	"testing"
)

func TestEchoLastRequest(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.Echo = true })
	if resp := app.request("GET", "/_echo/last?path=/user/password/otp", nil, nil); resp.Status != http.StatusNotFound {
		t.Errorf("before any request: status = %d, want 404", resp.Status)
	}

	body := `{"email":"alice@example.com","code":"1","password":"new password"}`
	resp := app.request("PUT", "/user/password/otp", body, nil, "X-Custom", "one")
	if resp.Status != http.StatusUnauthorized {
		t.Fatalf("reset with a wrong code: status = %d, want 401", resp.Status)
	}

	resp = app.request("GET", "/_echo/last?path=/user/password/otp", nil, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /_echo/last: status = %d, want 200", resp.Status)
	}
	var got lastRequest
	decodeJSON(t, resp.Body, &got)
	if got.Method != "PUT" || got.Path != "/user/password/otp" {
		t.Errorf("method, path = %q, %q; want PUT /user/password/otp", got.Method, got.Path)
	}
	if got.Body != body {
		t.Errorf("body = %q, want %q", got.Body, body)
	}
	if v := got.Headers.Get("X-Custom"); v != "one" {
		t.Errorf("header X-Custom = %q, want one", v)
	}
}

func TestEchoLastOffByDefault(t *testing.T) {
	app := newTestApp(t, nil)
	if resp := app.request("GET", "/_echo/last?path=/", nil, nil); resp.Status != http.StatusNotFound {
		t.Errorf("GET /_echo/last without -echo: status = %d, want 404", resp.Status)
	}
}
