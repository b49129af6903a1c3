// Package e2e holds the end-to-end tests of caddy-twofactor. They build the
// Caddy binary with the twofactor handler and the example legacy app, run
// both as processes on loopback, and drive them over HTTP. The package has
// no code of its own besides the tests; see README.md.
package e2e
