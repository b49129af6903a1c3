package main

import (
	"io"
	"net/http"
	"testing"
)

func TestEchoOffByDefault(t *testing.T) {
	app := newTestApp(t, nil)
	resp := app.request("GET", "/_echo", nil, nil)
	if resp.Status != http.StatusNotFound {
		t.Errorf("GET /_echo without -echo: status = %d, want 404", resp.Status)
	}
}

func TestEchoAnswersRequest(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.Echo = true })
	session, _ := app.formLogin("alice", "alice-password")

	resp := app.request("GET", "/_echo?q=1", nil, []*http.Cookie{session},
		"X-Custom", "one", "x_under_score", "two")
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /_echo: status = %d, want 200; body %s", resp.Status, resp.Body)
	}
	var got echoAnswer
	decodeJSON(t, resp.Body, &got)
	if got.Method != "GET" {
		t.Errorf("method = %q, want GET", got.Method)
	}
	if got.Path != "/_echo" || got.RawPath != "/_echo" {
		t.Errorf("path, rawPath = %q, %q; want /_echo twice", got.Path, got.RawPath)
	}
	if v := got.Headers.Get("X-Custom"); v != "one" {
		t.Errorf("header X-Custom = %q, want one", v)
	}
	// The client sends the name as X_under_score; the server keeps names
	// with "_" as sent.
	if v := got.Headers["X_under_score"]; len(v) != 1 || v[0] != "two" {
		t.Errorf("header X_under_score = %q, want [two]; headers %v", v, got.Headers)
	}
	if v := got.Headers.Get("Cookie"); v != "session="+session.Value {
		t.Errorf("header Cookie = %q, want the session cookie", v)
	}
}

func TestEchoAnonymous(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.Echo = true })
	resp := app.request("GET", "/_echo", nil, nil)
	if resp.Status != http.StatusOK {
		t.Errorf("anonymous GET /_echo: status = %d, want 200", resp.Status)
	}
}

func TestParseConfigEcho(t *testing.T) {
	cfg, err := parseConfig([]string{"-echo"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig(-echo): %v", err)
	}
	if !cfg.Echo {
		t.Error("Echo = false after -echo, want true")
	}
}
