package caddymodule

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// running lists the handlers whose store is open, so the admin routes can
// reach the live sessions of a realm. Handler.start adds a handler and
// Handler.stop removes it. During a config reload the handlers of both
// configs are listed for a moment, which is harmless: they share the
// pooled store, and an admin action drops the caches of all of them.
var running handlerRegistry

type handlerRegistry struct {
	mu       sync.Mutex
	handlers []*Handler
}

func (r *handlerRegistry) add(h *Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.handlers, h) {
		r.handlers = append(r.handlers, h)
	}
}

func (r *handlerRegistry) remove(h *Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers = slices.DeleteFunc(r.handlers, func(other *Handler) bool { return other == h })
}

// realmTarget is a realm of one open database and the running handlers
// that serve it.
type realmTarget struct {
	name     string
	dbPath   string
	db       *store.Bolt
	sessions []*account.Sessions
	logger   *zap.Logger
}

// admin returns the operator actions on the realm, which drop the caches
// of every handler that serves it.
func (t *realmTarget) admin() *account.Admin {
	return &account.Admin{Store: store.WithRealm(t.db, t.name), Sessions: t.sessions}
}

// realm returns the running realm named name, of the database at dbPath
// when dbPath is not empty. It fails with 404 when no running handler
// serves that realm, and with 409 when several databases do and dbPath
// does not pick one.
func (r *handlerRegistry) realm(name, dbPath string) (*realmTarget, error) {
	if !store.ValidRealm(name) {
		return nil, apiError(http.StatusBadRequest, "invalid realm %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var target *realmTarget
	var paths []string
	for _, h := range r.handlers {
		if h.Realm != name || (dbPath != "" && h.dbPath != dbPath) {
			continue
		}
		if !slices.Contains(paths, h.dbPath) {
			paths = append(paths, h.dbPath)
		}
		if target == nil {
			target = &realmTarget{name: name, dbPath: h.dbPath, db: h.db, logger: h.logger}
		}
		if h.dbPath == target.dbPath {
			target.sessions = append(target.sessions, h.sessions)
		}
	}
	switch {
	case target == nil && dbPath != "":
		return nil, apiError(http.StatusNotFound, "no running twofactor handler has realm %q "+
			"with database %s", name, dbPath)
	case target == nil:
		return nil, apiError(http.StatusNotFound, "no running twofactor handler has realm %q", name)
	case len(paths) > 1:
		return nil, apiError(http.StatusConflict, "realm %q is served from several databases (%s): "+
			"add the db query parameter to pick one", name, strings.Join(paths, ", "))
	}
	return target, nil
}

// database returns the open database of a realm, or the one at the path
// realmOrPath. A realm served from several databases fails with 409.
func (r *handlerRegistry) database(realmOrPath string) (*store.Bolt, string, error) {
	target, err := r.realm(realmOrPath, "")
	if err == nil {
		return target.db, target.dbPath, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.handlers {
		if h.dbPath == realmOrPath {
			return h.db, h.dbPath, nil
		}
	}
	var apiErr caddy.APIError
	if errors.As(err, &apiErr) && apiErr.HTTPStatus != http.StatusNotFound {
		return nil, "", err
	}
	return nil, "", apiError(http.StatusNotFound, "no running twofactor handler has realm or database %q",
		realmOrPath)
}
