package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// stackConfig changes the defaults of a stack. The strings may use
// APP_ADDR (the app's host:port), DB_PATH (the bbolt file in the test's
// folder) and, in Site, TWOFACTOR (the twofactor directive with its block).
type stackConfig struct {
	// AppFlags are extra flags of the example app, which always runs
	// with -echo and -listen 127.0.0.1:0.
	AppFlags []string
	// CaddyEnv are extra NAME=value entries of Caddy's environment.
	CaddyEnv []string
	// Twofactor is the body of the twofactor block. Default: demoTwofactor.
	Twofactor string
	// Site is the body of the site block. Default: the twofactor
	// directive, then reverse_proxy to the app.
	Site string
}

// demoTwofactor is the handler setup the demo uses: the app's session and
// remember-me cookies and its bearer tokens, identified by the app itself
// through GET /api/me.
const demoTwofactor = `
db DB_PATH
secret_key {env.TWOFACTOR_SECRET}
credential cookie session remember
credential header Authorization Bearer
identity introspect http://APP_ADDR/api/me
`

const defaultSite = `
TWOFACTOR
reverse_proxy APP_ADDR
`

// stack is one example app and one Caddy in front of it, each a process
// on loopback, with a bbolt file and Caddy's data in the test's folder.
type stack struct {
	t         *testing.T
	dir       string
	appAddr   string
	app       *process
	appOut    *logBuffer
	caddy     *process
	caddyOut  *logBuffer
	caddyEnv  []string
	port      int
	adminPort int
	base      string // http://127.0.0.1:port
	cfg       stackConfig
	// caddyfile is the path of the config Caddy runs, for restarts.
	caddyfile string
	configs   int
	transport *http.Transport
	secrets   *secretSet
}

// newStack starts the app and Caddy and stops both when the test ends.
// Their output is logged when the test fails.
func newStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	skipUnlessFull(t)
	needOathtool(t)
	sourcesOnce.Do(func() {
		if err := recordSources(binaries.root); err != nil {
			t.Errorf("%v: a cached result of this suite may be stale", err)
		}
	})

	s := &stack{
		t:         t,
		dir:       t.TempDir(),
		appOut:    &logBuffer{},
		caddyOut:  &logBuffer{},
		cfg:       cfg,
		transport: newTransport(),
		secrets:   newSecretSet(),
	}
	t.Cleanup(s.cleanup)

	s.startApp()
	s.port, s.adminPort = freePort(t), freePort(t)
	s.base = "http://127.0.0.1:" + strconv.Itoa(s.port)
	serverKey := randomHex(t, 32)
	s.secrets.add("server secret key", serverKey)
	home := filepath.Join(s.dir, "home")
	s.caddyEnv = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"TWOFACTOR_SECRET=" + serverKey,
	}, cfg.CaddyEnv...)

	s.caddyfile = s.writeCaddyfile(cfg)
	s.startCaddy()
	return s
}

func (s *stack) cleanup() {
	if s.caddy != nil {
		s.caddy.stop()
	}
	if s.app != nil {
		s.app.stop()
	}
	s.transport.CloseIdleConnections()
	if s.t.Failed() {
		s.t.Logf("Caddy config %s:\n%s", s.caddyfile, readFile(s.caddyfile))
		s.t.Logf("Caddy output:\n%s", tail(s.caddyOut.String()))
		s.t.Logf("app output:\n%s", tail(s.appOut.String()))
	}
}

func readFile(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return string(raw)
}

// startApp starts the example app on a free port and reads the port from
// its start line.
func (s *stack) startApp() {
	s.t.Helper()
	args := append([]string{"-listen", "127.0.0.1:0", "-echo"}, s.cfg.AppFlags...)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.dir}
	s.app = startProcess(s.t, "legacyapp", s.appOut, env, binaries.app, args...)
	addr, ok := s.appOut.waitFor(appListening, 0, s.app.done, startupTimeout)
	if !ok {
		s.t.Fatalf("the example app did not report its address; output:\n%s", s.appOut)
	}
	s.appAddr = addr
}

// writeCaddyfile writes a Caddyfile for cfg into the test's folder and
// returns its path. Global options keep Caddy on loopback (admin and
// default_bind), its data in the test's folder, and its log at DEBUG with
// the access log on. The access log drops X-Sudo-Token, as the shipped
// Caddyfile must: Caddy redacts Cookie and Authorization by itself, but it
// logs other request headers as the client sent them.
func (s *stack) writeCaddyfile(cfg stackConfig) string {
	s.t.Helper()
	tf := cfg.Twofactor
	if tf == "" {
		tf = demoTwofactor
	}
	site := cfg.Site
	if site == "" {
		site = defaultSite
	}
	directive := "twofactor {\n" + indent(tf, 1) + "\n}"
	text := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	persist_config off
	storage file_system %s
	default_bind 127.0.0.1
	auto_https off
	log {
		level DEBUG
	}
}

http://127.0.0.1:%d {
	log {
		format filter {
			wrap json
			request>headers>X-Sudo-Token delete
		}
	}
%s
}
`, s.adminPort, filepath.Join(s.dir, "storage"), s.port, indent(site, 1))
	// TWOFACTOR goes first, since its block holds the other tokens.
	text = strings.ReplaceAll(text, "TWOFACTOR", indentLike(text, directive))
	text = strings.NewReplacer("APP_ADDR", s.appAddr,
		"DB_PATH", filepath.Join(s.dir, "twofactor.db")).Replace(text)

	s.configs++
	path := filepath.Join(s.dir, fmt.Sprintf("Caddyfile.%d", s.configs))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		s.t.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// indentLike indents the continuation lines of block as deep as the line
// of text that holds the TWOFACTOR token.
func indentLike(text, block string) string {
	i := strings.Index(text, "TWOFACTOR")
	if i < 0 {
		return block
	}
	lineStart := strings.LastIndex(text[:i], "\n") + 1
	prefix := text[lineStart:i]
	return strings.ReplaceAll(block, "\n", "\n"+prefix)
}

// startCaddy runs Caddy with the current Caddyfile and waits until it
// serves. The output of every run goes to the same buffer.
func (s *stack) startCaddy() {
	s.t.Helper()
	from := s.caddyOut.Len()
	s.caddy = startProcess(s.t, "caddy", s.caddyOut, s.caddyEnv, binaries.caddy,
		"run", "--config", s.caddyfile, "--adapter", "caddyfile")
	if _, ok := s.caddyOut.waitFor(caddyServing, from, s.caddy.done, startupTimeout); !ok {
		s.t.Fatalf("Caddy did not start (exit: %v); config:\n%s\noutput:\n%s",
			s.caddy.err, readFile(s.caddyfile), tail(s.caddyOut.String()))
	}
}

// restartCaddy stops Caddy and starts it again on the same config and
// database.
func (s *stack) restartCaddy() {
	s.t.Helper()
	s.caddy.stop()
	s.transport.CloseIdleConnections()
	s.startCaddy()
}

// reload runs `caddy reload` with a config built from cfg and returns its
// output and error. On success the new config is the one restarts use.
func (s *stack) reload(cfg stackConfig) (string, error) {
	s.t.Helper()
	path := s.writeCaddyfile(cfg)
	out, err := runCommand(s.caddyEnv, binaries.caddy, "reload", "--config", path,
		"--adapter", "caddyfile", "--address", "127.0.0.1:"+strconv.Itoa(s.adminPort))
	if err == nil {
		s.caddyfile = path
	}
	return out, err
}

// appRequests returns the request lines the app logged, as "METHOD path
// status" strings, so a test can tell which requests reached it.
func (s *stack) appRequests() []string {
	var lines []string
	for _, line := range strings.Split(s.appOut.String(), "\n") {
		if !strings.Contains(line, "msg=request ") {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %s %s",
			logField(line, "method"), logField(line, "path"), logField(line, "status")))
	}
	return lines
}

// logField returns the value of key in a log/slog text line. Values that
// slog quotes are returned with their quotes.
func logField(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	value := line[i+len(key)+2:]
	if strings.HasPrefix(value, `"`) {
		if end := strings.Index(value[1:], `"`); end >= 0 {
			return value[:end+2]
		}
	}
	if end := strings.IndexByte(value, ' '); end >= 0 {
		return value[:end]
	}
	return value
}
