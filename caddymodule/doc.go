// Package caddymodule registers the twofactor HTTP handler with Caddy.
package caddymodule
