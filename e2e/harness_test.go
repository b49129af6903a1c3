package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// binaries are the programs TestMain builds once per test run.
var binaries struct {
	caddy, app string
	// root is the repository root they were built from.
	root string
}

// TestMain builds Caddy with the twofactor handler and the example app into
// a temporary folder, runs the tests and removes the folder. The build uses
// Go's build cache, so a second run only links.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "twofactor-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: creating the build folder: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	if err := buildBinaries(dir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	return m.Run()
}

// buildBinaries runs one go build for both programs, from the repository
// root, which is the parent of this package's folder.
func buildBinaries(dir string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return fmt.Errorf("finding the repository root: %v", err)
	}
	binaries.root = root
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("finding the go command to build Caddy: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-o", dir+string(filepath.Separator),
		"./cmd/caddy", "./examples/legacyapp")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building Caddy and the example app: %v\n%s", err, out)
	}
	binaries.caddy = filepath.Join(dir, "caddy")
	binaries.app = filepath.Join(dir, "legacyapp")
	return nil
}

// sourcesOnce makes the first test call recordSources.
var sourcesOnce sync.Once

// recordSources opens every file and folder of the repository outside
// hidden folders. go test caches a passing result until the test's own
// sources or the files a test opened change, and it cannot see what the go
// build child process read. Opening the files makes a change to the module
// or the example app run the suite again. It must run inside a test:
// go test records no file opened in TestMain before m.Run.
func recordSources(root string) error {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil {
		return fmt.Errorf("reading the repository's files: %v", err)
	}
	return nil
}

// logBuffer collects a process's output. It is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// waitFor polls until re matches the output written after offset from, and
// returns the first submatch (or the match). It gives up when done is
// closed or after timeout.
func (b *logBuffer) waitFor(re *regexp.Regexp, from int, done <-chan struct{},
	timeout time.Duration,
) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		out := b.String()
		if m := re.FindStringSubmatch(out[min(from, len(out)):]); m != nil {
			return m[len(m)-1], true
		}
		select {
		case <-done:
			return "", false
		default:
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// process is a program the test started. The test's cleanup ends it with
// stop.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{}
	err  error // the result of Wait, set before done is closed
}

func startProcess(t *testing.T, name string, out *logBuffer, env []string, bin string,
	args ...string,
) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p
}

// stop interrupts the process, which lets Caddy close the database cleanly,
// and kills it if it has not exited within 10 seconds.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// appListening matches the example app's start line, which names the
// address it listens on.
var appListening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// caddyServing matches Caddy's line after a config has started.
var caddyServing = regexp.MustCompile(`"msg":"serving initial configuration"`)

// startupTimeout bounds the wait for a process to be ready.
const startupTimeout = 30 * time.Second

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("reading random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}

// outputLimit is how much of a process's output a failed test logs: the
// end, where the failure usually is.
const outputLimit = 256 << 10

func tail(s string) string {
	if len(s) <= outputLimit {
		return s
	}
	return "[…]\n" + s[len(s)-outputLimit:]
}

// runCommand runs a short command (caddy reload) and returns its output.
func runCommand(env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// newTransport returns a transport that never uses a proxy from the
// environment, so every request goes straight to loopback.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
}

// skipUnlessFull skips end-to-end tests under -short.
func skipUnlessFull(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: runs Caddy and the example app; run without -short")
	}
}

// knownBugsEnv, set to 1, runs the checks that show known bugs of the
// module instead of skipping them.
const knownBugsEnv = "TWOFACTOR_E2E_KNOWN_BUGS"

// knownBug skips the rest of a test that fails because of a known bug of
// the module, unless knownBugsEnv is set, so the check stays runnable.
func knownBug(t *testing.T, bug string) {
	t.Helper()
	if os.Getenv(knownBugsEnv) != "1" {
		t.Skipf("known bug: %s (set %s=1 to run this check)", bug, knownBugsEnv)
	}
}

// indent prefixes every line of s with tabs, for Caddyfile blocks.
func indent(s string, tabs int) string {
	prefix := strings.Repeat("\t", tabs)
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, line := range lines {
		if line != "" {
			lines[i] = prefix + line
		}
	}
	return strings.Join(lines, "\n")
}
