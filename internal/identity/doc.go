// Package identity finds the app credential in a request and learns whose it
// is.
//
// Extract collects the configured carriers (cookies and headers the app
// authenticates by) and rejects a request that presents one of them twice,
// because the app and this module could then read different credentials. A
// Source resolves the carriers to the user behind them: JWT verifies bearer
// tokens itself, Introspect sends them to an app endpoint, and Placeholder
// trusts values an earlier handler set.
//
// The package takes plain values (*http.Request, context.Context, time.Time
// and config structs) so that it has no dependency on Caddy.
package identity
