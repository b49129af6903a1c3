package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goCommand returns the go command that xcaddy runs: XCADDY_WHICH_GO if set,
// else "go" from PATH.
func goCommand() string {
	if g := os.Getenv("XCADDY_WHICH_GO"); g != "" {
		return g
	}
	return "go"
}

// currentGOPROXY returns the GOPROXY value in effect, as `go env` reports it.
func currentGOPROXY(ctx context.Context) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goCommand(), "env", "GOPROXY")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("reading GOPROXY: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// localFirstProxy returns a GOPROXY value that lists the file proxy at the
// absolute folder dir first and then the entries of goproxy, as `go env
// GOPROXY` prints it. The comma makes the go command move on to the next
// entry after the file proxy's "not found".
func localFirstProxy(dir, goproxy string) string {
	p := filepath.ToSlash(dir)
	if !strings.HasPrefix(p, "/") {
		// A Windows path such as C:/x needs the slash of file:///C:/x.
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: p}).String() + "," + goproxy
}

// setBuildEnv sets the environment that xcaddy's go commands inherit: an
// empty file proxy at emptyDir in front of goproxy, and GOWORK=off so that
// the temporary module is built alone even inside a go.work workspace.
//
// The empty proxy keeps modulePath off the network. xcaddy's plain `go get`
// step resolves the import modulePath/caddymodule, which no required module
// provides yet. The go command (as of Go 1.26: modload.QueryPattern and
// modfetch.TryProxies) tries the GOPROXY entries in turn, and for
// each entry it looks up every prefix of the import path that could be its
// module. It moves on only when those lookups fail with "not found" (404 or
// 410), and it stops at the first entry that resolves the import or at any
// other error. The replacement resolves modulePath itself, but the longer
// prefix .../caddymodule is looked up at the entry. So a proxy that rejects
// unknown modules with 403, or a direct fetch while GitHub is unreachable,
// fails the build. The empty proxy returns "not found" for every path, so
// the go command settles on the replacement at the first entry, and every
// other module falls through to the entries the user has.
//
// NOTE: GOPRIVATE or GONOPROXY covering modulePath makes the go command try
// a direct fetch before any proxy, which the empty proxy cannot prevent.
func setBuildEnv(emptyDir, goproxy string) error {
	if err := os.Setenv("GOPROXY", localFirstProxy(emptyDir, goproxy)); err != nil {
		return fmt.Errorf("setting GOPROXY: %w", err)
	}
	if err := os.Setenv("GOWORK", "off"); err != nil {
		return fmt.Errorf("setting GOWORK: %w", err)
	}
	return nil
}
