// Package caddymodule registers the twofactor HTTP handler with Caddy and
// holds the Caddy glue: the JSON config, the Caddyfile parser, the shared
// store and the per-request dispatch.
package caddymodule

import (
	"fmt"
	"sync"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(new(App))
	caddy.RegisterModule(new(Handler))
}

// App starts and stops the twofactor handlers of one config. It exists
// because a handler's Provision also runs for `caddy validate`, which must
// not open (and lock) the database: handlers open their store in App.Start,
// which runs only when a config really starts. A Start that fails (for
// example a secret_key that does not match the database) fails the config
// load, so a reload with a wrong key leaves the running config in place.
type App struct {
	mu       sync.Mutex
	handlers []*Handler
}

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "twofactor",
		New: func() caddy.Module { return new(App) },
	}
}

func (a *App) register(h *Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.handlers = append(a.handlers, h)
}

// Start opens the store of every handler of this config.
func (a *App) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, h := range a.handlers {
		if err := h.start(); err != nil {
			for _, started := range a.handlers[:i] {
				started.stop()
			}
			return fmt.Errorf("starting twofactor handler (realm %q): %v", h.Realm, err)
		}
	}
	return nil
}

// Stop releases the stores of this config's handlers. A store that the
// next config also uses stays open.
func (a *App) Stop() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, h := range a.handlers {
		h.stop()
	}
	return nil
}

var _ caddy.App = (*App)(nil)
