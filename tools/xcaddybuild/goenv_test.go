package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestEmptyProxyKeepsModuleLocal runs the step of xcaddy's build that
// resolves the plugin import: a plain `go get` in a module that replaces
// modulePath with a local folder. The proxy, on loopback, rejects every
// module with 403, as some mirrors do for modules they do not serve. The
// test needs no network and builds nothing.
func TestEmptyProxyKeepsModuleLocal(t *testing.T) {
	goBin, err := exec.LookPath(goCommand())
	if err != nil {
		t.Skipf("no go command: %v", err)
	}

	var mu sync.Mutex
	var requests []string
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path)
		mu.Unlock()
		http.Error(w, "This module version is not available.", http.StatusForbidden)
	}))
	defer rejecting.Close()

	root := checkout(t)
	work := t.TempDir()
	writeFiles(t, work, map[string]string{
		"go.mod": "module caddy\n\ngo 1.26\n\nreplace " + modulePath + " => " +
			filepath.ToSlash(root) + "\n",
		"main.go": "package main\n\nimport _ \"" + modulePath + "/caddymodule\"\n\nfunc main() {}\n",
	})

	goGet := func(goproxy string) (string, error) {
		cmd := exec.Command(goBin, "get", "-v")
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GOPROXY="+goproxy, "GOFLAGS=-buildvcs=false",
			"GOWORK=off", "GOSUMDB=off", "GOPRIVATE=", "GONOPROXY=", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := goGet(rejecting.URL); err == nil {
		t.Errorf("go get with only the 403 proxy: got success, want the 403 to stop it\n%s", out)
	}

	mu.Lock()
	requests = nil
	mu.Unlock()
	out, err := goGet(localFirstProxy(t.TempDir(), rejecting.URL))
	if err != nil {
		t.Fatalf("go get with the empty proxy first: %v\n%s", err, out)
	}

	gomod, err := os.ReadFile(filepath.Join(work, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	want := modulePath + " v0.0.0-00010101000000-000000000000"
	if !strings.Contains(string(gomod), want) {
		t.Errorf("go.mod after go get: got\n%s\nwant a requirement %s", gomod, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) > 0 {
		t.Errorf("403 proxy requests: got %d, want 0: %q", len(requests), requests)
	}
}
