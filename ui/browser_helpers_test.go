package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// chromiumPath finds Debian's chromium (or another Chrome) on PATH.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts one headless Chromium for the calling test and its
// subtests (each subtest opens its own tab). Without chromium the test is
// skipped, except under CI=true, where the browser tests must run.
func startBrowser(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed: the UI browser tests need it under CI (.ci/run installs Debian's chromium)")
		}
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the UI browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in containers and CI
		chromedp.WindowSize(1280, 860),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return bctx
}

// tab is one browser tab on the agent's UI. Uncaught exceptions and
// console.error calls in the page fail the test when it ends.
type tab struct {
	t    testing.TB
	ctx  context.Context
	base string // http://127.0.0.1:port

	mu   sync.Mutex
	errs []string
}

func openTab(t testing.TB, bctx context.Context, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	tb := &tab{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			// Network log entries (a 404 the page asked for on purpose, a
			// blocking query cut by navigation) are not page errors.
			if m.Source != "" {
				t.Logf("CONSOLE %s %s %s", m.Source, m.Type, m.Text)
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
				tb.mu.Lock()
				tb.errs = append(tb.errs, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errs {
			t.Errorf("page error: %s", e)
		}
	})
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v (at %s)", err, tb.location())
	}
}

func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// open navigates to a UI path and waits until the view says it is ready
// (main[data-state=ready]: its data has arrived and been rendered).
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + path))
	tb.waitReady()
}

func (tb *tab) waitReady() {
	tb.t.Helper()
	tb.waitJS(`document.querySelector('main').dataset.state === 'ready'`)
}

// eval runs JavaScript in the page (awaiting a promise) and decodes the result.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

// waitJS waits (up to 10 s) until the expression is truthy in the page.
// A poll does not survive a navigation: after a reload (boot.js reloads a
// page whose files failed to load) it polls the new page.
func (tb *tab) waitJS(expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithDeadline(tb.ctx, deadline)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(10*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) || tb.ctx.Err() != nil {
			tb.t.Fatalf("waiting for %s: %v (at %s)\n%s\n%s", expr, err, tb.location(), tb.text("main"), tb.debugState())
		}
	}
}

// debugState describes the page for a failure message: its load state,
// what it fetched and how each fetch ended.
func (tb *tab) debugState() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({ready: document.readyState, main: document.querySelector('main')?.outerHTML.slice(0, 300),
		resources: performance.getEntriesByType('resource').map(e => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.responseEnd), e.responseStatus])})`))
	if err != nil {
		return "page state unavailable: " + err.Error()
	}
	return v
}

// text is the visible text of the first element matching css.
func (tb *tab) text(css string) string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||''`, css)))
	return v
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// screenshot writes a PNG of the page to $UI_SCREENSHOTS/name.png when
// that variable names a directory (`make screenshots`).
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	dir := os.Getenv("UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", p)
}

// uiAgent starts an in-process agent with its UI and an API client.
func uiAgent(t testing.TB) (string, *api.Client) {
	t.Helper()
	a := testagent.Start(t, testagent.Options{NodeName: "node1"})
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + a.HTTPAddr(), c
}

func retry(t testing.TB, f func() error) {
	t.Helper()
	testutil.Retry(t, 10*time.Second, f)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// kvValue reads a key through the HTTP API ("" and false when missing).
func kvValue(t testing.TB, c *api.Client, key string) (string, bool) {
	t.Helper()
	p, _, err := c.KV().Get(key, nil)
	must(t, err)
	if p == nil {
		return "", false
	}
	return string(p.Value), true
}

func contains(haystack string, needles ...string) error {
	for _, n := range needles {
		if !strings.Contains(haystack, n) {
			return fmt.Errorf("%q not in %q", n, haystack)
		}
	}
	return nil
}

// click clicks the first element matching css, again if a live update
// replaced the element between finding and clicking it.
func (tb *tab) click(css string) {
	tb.t.Helper()
	var err error
	for range 5 {
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css)))
		cancel()
		if err == nil {
			return
		}
	}
	tb.t.Fatalf("click %s: %v (at %s)", css, err, tb.location())
}

// tabTo presses Tab until the focused element (a, in pred) satisfies pred.
func (tb *tab) tabTo(pred string) {
	tb.t.Helper()
	for range 80 {
		if eval[bool](tb, `(() => { const a = document.activeElement; return !!(a && (`+pred+`)); })()`) {
			return
		}
		tb.do(chromedp.KeyEvent(kb.Tab))
	}
	tb.t.Fatalf("Tab never reached an element where %s (at %s)", pred, tb.location())
}

// tabToAndEnter focuses an element with Tab alone and presses Enter on it.
func (tb *tab) tabToAndEnter(pred string) {
	tb.t.Helper()
	tb.tabTo(pred)
	tb.do(chromedp.KeyEvent(kb.Enter))
}

// typeInto replaces an input's or textarea's content by typing, as a user
// who selects all and types does.
func (tb *tab) typeInto(css, text string) {
	tb.t.Helper()
	tb.do(chromedp.Focus(chromedp.CSS(css)))
	eval[bool](tb, fmt.Sprintf(`(document.querySelector(%s).select(), true)`, js(css)))
	tb.do(chromedp.KeyEvent(text))
}
