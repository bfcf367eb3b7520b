package ui_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/minconsul/minconsul/ui"
)

func serve(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Every UI path that is not an asset answers index.html, so deep links on
// Consul's UI paths load the application.
func TestHandler_IndexForEveryRoute(t *testing.T) {
	h := ui.New()
	for _, p := range []string{"/ui/", "/ui/dc1/services", "/ui/dc1/services/web", "/ui/dc1/nodes/node%201",
		"/ui/dc1/kv/", "/ui/dc1/kv/a%40b/%E2%9C%93/", "/ui/dc1/kv/app/config/edit", "/ui/dc1/kv/app/create", "/ui/nowhere"} {
		w := serve(h, "GET", p, nil)
		body := w.Body.String()
		if w.Code != 200 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s: %d %q", p, w.Code, w.Header().Get("Content-Type"))
		}
		if !strings.Contains(body, `<main id="main"`) || !strings.Contains(body, "/ui/assets/"+h.Version()+"/app.js") {
			t.Fatalf("%s: not the versioned index:\n%s", p, body)
		}
		if strings.Contains(body, "{{") {
			t.Fatalf("%s: unrendered placeholder in index", p)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Fatalf("%s: index Cache-Control %q", p, cc)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("%s: CSP %q", p, csp)
		}
	}
}

// The list pages' index preloads the page's data; other pages do not.
func TestHandler_ListPagesPreloadTheirData(t *testing.T) {
	h := ui.New()
	for p, want := range map[string]string{
		"/ui/dc1/services": "/v1/internal/ui/services", "/ui/dc1/services/": "/v1/internal/ui/services",
		"/ui/dc1/nodes": "/v1/internal/ui/nodes", "/ui/dc1/services/web": "", "/ui/dc1/kv/": "", "/ui/": "",
	} {
		body := serve(h, "GET", p, nil).Body.String()
		got := regexp.MustCompile(`<link rel="preload" as="fetch" crossorigin="anonymous" href="([^"]+)">`).FindStringSubmatch(body)
		if (want == "") != (got == nil) || (got != nil && got[1] != want) {
			t.Fatalf("%s: data preload %q, want %q", p, got, want)
		}
	}
}

func TestHandler_Assets(t *testing.T) {
	h := ui.New()
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", "": "text/html; charset=utf-8"}
	for _, p := range h.AssetPaths() {
		plain := serve(h, "GET", p, nil)
		if plain.Code != 200 || plain.Header().Get("Content-Encoding") != "" {
			t.Fatalf("%s: %d %v", p, plain.Code, plain.Header())
		}
		ext := path.Ext(p)
		if p == ui.Prefix {
			ext = ""
		}
		if got := plain.Header().Get("Content-Type"); got != types[ext] {
			t.Fatalf("%s: Content-Type %q, want %q", p, got, types[ext])
		}
		if p != ui.Prefix && plain.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("%s: Cache-Control %q", p, plain.Header().Get("Cache-Control"))
		}
		gz := serve(h, "GET", p, map[string]string{"Accept-Encoding": "br, gzip"})
		if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%s: not gzipped: %v", p, gz.Header())
		}
		zr, err := gzip.NewReader(gz.Body)
		must(t, err)
		unz, err := io.ReadAll(zr)
		must(t, err)
		if !bytes.Equal(unz, plain.Body.Bytes()) {
			t.Fatalf("%s: gzip body differs from the plain one", p)
		}
		if gz.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Fatalf("%s: both encodings share ETag %s", p, gz.Header().Get("ETag"))
		}
		for _, tag := range []string{plain.Header().Get("ETag"), gz.Header().Get("ETag"), "W/" + gz.Header().Get("ETag"), `"nope", ` + plain.Header().Get("ETag")} {
			nm := serve(h, "GET", p, map[string]string{"If-None-Match": tag, "Accept-Encoding": "gzip"})
			if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 || nm.Header().Get("ETag") == "" {
				t.Fatalf("%s If-None-Match %s: %d (%d bytes)", p, tag, nm.Code, nm.Body.Len())
			}
		}
		if stale := serve(h, "GET", p, map[string]string{"If-None-Match": `"other"`}); stale.Code != 200 {
			t.Fatalf("%s: stale ETag answered %d", p, stale.Code)
		}
		head := serve(h, "HEAD", p, map[string]string{"Accept-Encoding": "gzip"})
		if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Length") != gz.Header().Get("Content-Length") {
			t.Fatalf("%s HEAD: %d %v", p, head.Code, head.Header())
		}
	}
}

func TestHandler_Refusals(t *testing.T) {
	h := ui.New()
	js := "/ui/assets/" + h.Version() + "/app.js"
	cases := []struct {
		method, path string
		hdr          map[string]string
		status       int
		check        func(*httptest.ResponseRecorder) bool
	}{
		{"POST", "/ui/", nil, 405, func(w *httptest.ResponseRecorder) bool { return w.Header().Get("Allow") == "GET, HEAD" }},
		{"PUT", js, nil, 405, nil},
		{"GET", "/ui/assets/" + h.Version() + "/js/nope.js", nil, 404, nil},
		{"GET", "/ui/assets/", nil, 404, nil},
		{"GET", "/elsewhere", nil, 404, nil},
		{"GET", js, map[string]string{"Accept-Encoding": "gzip;q=0, identity"}, 200,
			func(w *httptest.ResponseRecorder) bool { return w.Header().Get("Content-Encoding") == "" }},
		// A page loaded before an upgrade asks for the old version: it gets
		// the current file, not cached under the old name.
		{"GET", "/ui/assets/0123456789ab/app.js", nil, 200,
			func(w *httptest.ResponseRecorder) bool { return w.Header().Get("Cache-Control") == "no-cache" }},
	}
	for _, c := range cases {
		w := serve(h, c.method, c.path, c.hdr)
		if w.Code != c.status || (c.check != nil && !c.check(w)) {
			t.Fatalf("%s %s: %d %v", c.method, c.path, w.Code, w.Header())
		}
	}
}

// The page loads exactly the files the handler serves: index.html names
// boot.js, app.css and the bundle, and nothing it names is missing.
func TestHandler_IndexNamesItsAssets(t *testing.T) {
	h := ui.New()
	have := map[string]bool{}
	for _, p := range h.AssetPaths() {
		have[p] = true
	}
	index := serve(h, "GET", "/ui/", nil).Body.String()
	refs := regexp.MustCompile(`(?:src|href)="(/ui/assets/[^"]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) != 3 {
		t.Fatalf("index references %v", refs)
	}
	for _, m := range refs {
		if !have[m[1]] {
			t.Errorf("index references %s, which is not served", m[1])
		}
	}
	if len(have) != len(refs)+1 {
		t.Errorf("served %v, index references %v", h.AssetPaths(), refs)
	}
	app := serve(h, "GET", "/ui/assets/"+h.Version()+"/app.js", nil).Body.String()
	for _, mod := range []string{"js/api.js", "js/dom.js", "js/router.js", "js/services.js", "js/kveditor.js", "js/main.js"} {
		if !strings.Contains(app, `__m["`+mod+`"] = {`) {
			t.Errorf("bundle lacks %s", mod)
		}
	}
}

// TestHandler_PayloadBudget keeps everything a first visit downloads
// within the 100 KB gzipped (Consul's UI is about 690 KB).
func TestHandler_PayloadBudget(t *testing.T) {
	h := ui.New()
	total, raw := 0, 0
	for _, p := range h.AssetPaths() {
		total += serve(h, "GET", p, map[string]string{"Accept-Encoding": "gzip"}).Body.Len()
		raw += serve(h, "GET", p, nil).Body.Len()
	}
	t.Logf("UI payload: %d bytes gzipped (%d raw), %d files", total, raw, len(h.AssetPaths()))
	if total > 100*1024 {
		t.Fatalf("UI payload %d bytes gzipped, budget 102400", total)
	}
}
