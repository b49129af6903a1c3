package caddymodule

import (
	"context"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-twofactor/caddy-twofactor/internal/account"
	"github.com/caddy-twofactor/caddy-twofactor/internal/store"
)

// stores holds the open databases by absolute path. bbolt locks its file,
// and Caddy starts a new config before it stops the old one, so a reload
// must reuse the open *bolt.DB instead of opening the file again.
var stores = caddy.NewUsagePool()

// sweepInterval is how often expired records are deleted.
const sweepInterval = 5 * time.Minute

// sharedStore is a pooled database, its sweeper, and the session caches
// of its realms.
type sharedStore struct {
	db     *store.Bolt
	cancel context.CancelFunc

	mu     sync.Mutex
	caches map[string]*account.SessionCache // by realm
}

// sessionCache returns the session cache of a realm. Every handler of the
// realm on this database shares it, across site blocks and reloads, so a
// revocation through one handler ends the session in all of them.
func (s *sharedStore) sessionCache(realm string) *account.SessionCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.caches == nil {
		s.caches = map[string]*account.SessionCache{}
	}
	cache := s.caches[realm]
	if cache == nil {
		cache = &account.SessionCache{}
		s.caches[realm] = cache
	}
	return cache
}

// Destruct stops the sweeper and closes the file when the last config
// using it stops.
func (s *sharedStore) Destruct() error {
	s.cancel()
	return s.db.Close()
}

// openStore returns the pooled database at path, opening it on first use.
func openStore(path string, logger *zap.Logger) (*sharedStore, error) {
	value, _, err := stores.LoadOrNew(path, func() (caddy.Destructor, error) {
		db, err := store.OpenBolt(path, store.BoltOptions{})
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		go sweep(ctx, db, logger.With(zap.String("db", path)))
		logger.Info("database opened", zap.String("db", path))
		return &sharedStore{db: db, cancel: cancel}, nil
	})
	if err != nil {
		return nil, err
	}
	return value.(*sharedStore), nil
}

// releaseStore drops one use of the database at path.
func releaseStore(path string) {
	stores.Delete(path)
}

func sweep(ctx context.Context, db *store.Bolt, logger *zap.Logger) {
	ticker := time.NewTicker(sweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			n, err := db.Sweep()
			if err != nil {
				logger.Error("sweeping expired records failed", zap.Error(err))
				continue
			}
			if n > 0 {
				logger.Debug("expired records deleted", zap.Int("count", n))
			}
		}
	}
}
