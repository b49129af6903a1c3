package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which the browser tests drive.
const chromiumPath = "/usr/bin/chromium"

// screenshotsEnv, set to 1, makes the browser tests write PNG screenshots
// of the pages into docs/screenshots, for the README.
const screenshotsEnv = "UPDATE_SCREENSHOTS"

// browserTimeout bounds one browser test's whole run in the browser.
const browserTimeout = 90 * time.Second

// browser is one headless Chromium with an empty profile, and its tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	// base is the site's origin, e.g. http://127.0.0.1:8080.
	base string
}

// newBrowser starts Chromium for the test, with lang as its language and
// Accept-Language, and closes it when the test ends. It skips the test
// when Chromium is missing.
func newBrowser(t *testing.T, s *stack, lang string) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Skipf("Chromium is not installed at %s: apt-get install chromium", chromiumPath)
	}
	profile := t.TempDir()
	// Without the background-networking flags Chromium keeps connecting to
	// Google's services, which fails over and over on a machine without
	// network.
	allocator, cancelAllocator := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", lang),
		// Headless Chromium ignores --lang for Accept-Language.
		chromedp.Flag("accept-lang", lang),
		chromedp.WindowSize(900, 1000),
	)
	tab, cancelTab := chromedp.NewContext(allocator)
	ctx, cancelTimeout := context.WithTimeout(tab, browserTimeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAllocator()
	})
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: s.base}
}

// open navigates to path and returns the final document's response,
// after redirects.
func (b *browser) open(path string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("opening %s: %v", path, err)
	}
	return resp
}

// submit clicks a button that submits a form and waits for the next page.
func (b *browser) submit(selector string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("submitting with %s: %v", selector, err)
	}
	return resp
}

// reload reloads the page shown, sending a form again as browsers do
// after the user agrees, and waits for it.
func (b *browser) reload() {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
		b.t.Fatalf("reloading %s: %v", b.path(), err)
	}
}

// typeAndEnter types text into the field that selector finds and presses
// Enter, as a keyboard user submits a form, and waits for the next page.
func (b *browser) typeAndEnter(selector, text string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.SendKeys(chromedp.CSS(selector), text+"\n"))
	if err != nil {
		b.t.Fatalf("typing into %s and pressing Enter: %v", selector, err)
	}
	return resp
}

// fill types text into the field that selector finds, after clearing it.
func (b *browser) fill(selector, text string) {
	b.t.Helper()
	err := chromedp.Do(b.ctx, chromedp.Clear(chromedp.CSS(selector)),
		chromedp.SendKeys(chromedp.CSS(selector), text))
	if err != nil {
		b.t.Fatalf("typing into %s: %v", selector, err)
	}
}

// text returns the visible text of the first element selector finds.
func (b *browser) text(selector string) string {
	b.t.Helper()
	text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", selector, err)
	}
	return text
}

// texts returns the visible text of every element selector finds.
func (b *browser) texts(selector string) []string {
	b.t.Helper()
	texts, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.innerText)`, selector)))
	if err != nil {
		b.t.Fatalf("reading every %s: %v", selector, err)
	}
	return texts
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](b *browser, expression string) T {
	b.t.Helper()
	value, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expression, err)
	}
	return value
}

// path returns the path and query of the page shown.
func (b *browser) path() string {
	b.t.Helper()
	return eval[string](b, "location.pathname + location.search")
}

// wantPath checks the page shown, and its status. Paths are compared with
// their query decoded, since percent-escapes may differ in case.
func (b *browser) wantPath(resp *network.Response, path string) {
	b.t.Helper()
	if got := b.path(); !samePath(got, path) {
		b.t.Fatalf("the browser shows %s, want %s; page text:\n%s", got, path, b.text("body"))
	}
	if resp != nil && resp.Status != 200 {
		b.t.Errorf("%s: status %d, want 200", path, resp.Status)
	}
}

// samePath reports whether two paths with queries are the same after
// decoding.
func samePath(a, b string) bool {
	ua, errA := url.ParseRequestURI(a)
	ub, errB := url.ParseRequestURI(b)
	return errA == nil && errB == nil && ua.Path == ub.Path && reflect.DeepEqual(ua.Query(), ub.Query())
}

// wantText checks that the page's text contains text.
func (b *browser) wantText(text string) {
	b.t.Helper()
	if body := b.text("body"); !strings.Contains(body, text) {
		b.t.Errorf("the page %s lacks %q; its text:\n%s", b.path(), text, body)
	}
}

// screenshot saves the page as docs/screenshots/<name>.png when
// UPDATE_SCREENSHOTS=1, so a normal run leaves the tree clean.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if os.Getenv(screenshotsEnv) != "1" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot of %s: %v", name, err)
	}
	dir := filepath.Join(binaries.root, "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatalf("creating %s: %v", dir, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("writing %s: %v", path, err)
	}
	b.t.Logf("wrote %s", path)
}

// loginForm logs in with the app's own form, starting from path, which
// the app sends an anonymous visitor to its login form from.
func (b *browser) loginForm(path, user string) *network.Response {
	b.t.Helper()
	b.open(path)
	if got := b.path(); !strings.HasPrefix(got, "/login") {
		b.t.Fatalf("opening %s shows %s, want the app's login form", path, got)
	}
	b.fill(`input[name=username]`, user)
	b.fill(`input[name=password]`, passwords[user])
	return b.submit(`form[action="/login"] button[type=submit]`)
}

// logout submits the app's logout form on the page shown.
func (b *browser) logout() {
	b.t.Helper()
	resp := b.submit(`form[action="/logout"] button[type=submit]`)
	b.wantPath(resp, "/")
	b.wantText("Not logged in.")
}
