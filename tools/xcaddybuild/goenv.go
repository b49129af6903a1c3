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

// localFirstProxy returns a GOPROXY value that asks the file proxy at the
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
// provides yet: the go command asks each GOPROXY entry in turn about every
// prefix of the path that could be its module, and takes the first entry
// that answers with no error other than "not found". The replacement
// answers for modulePath itself, but the longer prefix .../caddymodule is
// asked of the entry, and an answer other than 404 or 410 stops the build:
// a proxy that refuses unknown modules with 403 does, and so does a direct
// fetch when GitHub is out of reach. The empty proxy answers "not found" to
// every path, so the go command settles on the replacement at the first
// entry; every other module falls through to the entries the user has.
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
