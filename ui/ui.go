// Package ui serves minconsul's web UI: a single-page application of plain
// HTML, CSS and JavaScript modules embedded in the binary, which speaks only
// Consul's /v1 HTTP API. It owns the assets and how they are served (one
// http.Handler that httpapi mounts at /ui/); it never touches the agent,
// the store or the API handlers.
//
// Every path under /ui/ that is not an asset answers index.html, so that
// deep links on Consul's UI paths (/ui/dc1/services/web, /ui/dc1/kv/app/)
// load the application, which then routes in the browser. The modules under
// assets/js are served joined into one script (bundle.go). Assets live
// under /ui/assets/<version>/, where the version is a hash of all asset
// contents: they can be cached forever, and index.html (never cached
// without revalidation) names the current version.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Prefix is the path the handler is mounted at.
const Prefix = "/ui/"

// assetPrefix is where assets live, below Prefix.
const assetPrefix = "assets/"

//go:embed assets
var embedded embed.FS

// Handler serves the UI. Its zero value is not usable; call New.
type Handler struct {
	once    sync.Once
	version string
	files   map[string]*asset // by name under assets/, e.g. "js/main.js"
	index   *asset
	// The list pages' index also preloads the page's first API read, so it
	// travels while the scripts load instead of after.
	indexServices, indexNodes *asset
}

type asset struct {
	ctype    string
	raw, gz  []byte // gz nil when compressing does not pay
	etag     string // of raw; the gzip body's ETag adds "-gz"
	cacheFor string
}

// New returns the UI handler. The assets are hashed and compressed once,
// on the first request, so agents that never serve the UI (tests, -ui=false)
// pay nothing.
func New() *Handler { return &Handler{} }

// load reads, versions and compresses the embedded assets.
func (h *Handler) load() {
	h.files = map[string]*asset{}
	var names []string
	raw := map[string][]byte{}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		names = append(names, name)
		raw[name] = b
		return nil
	})
	if err != nil {
		// The files are compiled in: failing to read them is a build bug.
		panic(fmt.Sprintf("ui: read embedded assets: %v", err))
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		fmt.Fprintf(sum, "%s\x00%d\x00", n, len(raw[n]))
		sum.Write(raw[n])
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	modules := map[string][]byte{}
	for _, n := range names {
		switch {
		case n == "index.html":
		case strings.HasPrefix(n, "js/"):
			modules[n] = raw[n]
		default:
			h.files[n] = newAsset(n, raw[n], "public, max-age=31536000, immutable")
		}
	}
	app, err := bundle(modules, "js/main.js")
	if err != nil {
		panic(fmt.Sprintf("ui: %v", err)) // the modules are compiled in: a build bug
	}
	h.files["app.js"] = newAsset("app.js", app, "public, max-age=31536000, immutable")
	index := bytes.ReplaceAll(raw["index.html"], []byte("{{assets}}"), []byte(Prefix+assetPrefix+h.version+"/"))
	h.index = newAsset("index.html", withData(index, ""), "no-cache")
	h.indexServices = newAsset("index.html", withData(index, "/v1/internal/ui/services"), "no-cache")
	h.indexNodes = newAsset("index.html", withData(index, "/v1/internal/ui/nodes"), "no-cache")
}

// withData fills index.html's data preload (none when url is empty). The
// page's own fetch of the same URL (same mode and credentials) takes the
// preloaded answer.
func withData(index []byte, url string) []byte {
	link := ""
	if url != "" {
		link = `<link rel="preload" as="fetch" crossorigin="anonymous" href="` + url + `">` + "\n"
	}
	return bytes.Replace(index, []byte("<!--{{data}}-->\n"), []byte(link), 1)
}

// indexFor picks the index for a page path (rest is the path after /ui/):
// the two list pages, /ui/<dc>/services and /ui/<dc>/nodes, preload their data.
func (h *Handler) indexFor(rest string) *asset {
	_, page, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	switch page {
	case "services":
		return h.indexServices
	case "nodes":
		return h.indexNodes
	}
	return h.index
}

func newAsset(name string, raw []byte, cacheFor string) *asset {
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // the system's MIME table may lack or differ on these
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(raw)
	a := &asset{ctype: ctype, raw: raw, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, cacheFor: cacheFor}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	if buf.Len() < len(raw) {
		a.gz = buf.Bytes()
	}
	return a
}

// Version is the current asset version (a content hash).
func (h *Handler) Version() string {
	h.once.Do(h.load)
	return h.version
}

// AssetPaths lists the URL path of index.html and of every asset.
func (h *Handler) AssetPaths() []string {
	h.once.Do(h.load)
	out := []string{Prefix}
	for n := range h.files {
		out = append(out, Prefix+assetPrefix+h.version+"/"+n)
	}
	sort.Strings(out[1:])
	return out
}

// contentSecurityPolicy allows nothing but this origin: no inline script,
// no CDN, no framing (the KV editor must not be clickjacked).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.load)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	a := h.indexFor(rest)
	if tail, isAsset := strings.CutPrefix(rest, assetPrefix); isAsset {
		version, name, _ := strings.Cut(tail, "/")
		if a = h.files[name]; a == nil {
			http.Error(w, "no such UI asset: "+name, http.StatusNotFound)
			return
		}
		if version != h.version {
			// A page from before an upgrade asks for an old version: answer
			// the current file, but do not let it be cached as the old one.
			c := *a
			c.cacheFor = "no-cache"
			a = &c
		}
	}
	serveAsset(w, r, a)
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	body, etag := a.raw, a.etag
	hdr := w.Header()
	gz := a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		body, etag = a.gz, a.etag[:len(a.etag)-1]+`-gz"`
	}
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("Cache-Control", a.cacheFor)
	hdr.Set("ETag", etag)
	hdr.Set("Vary", "Accept-Encoding")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("Referrer-Policy", "same-origin")
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if gz {
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// etagMatches implements If-None-Match's weak comparison; either encoding's
// tag matches, since both carry the same content.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	bare := strings.Trim(etag, `"`)
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag || t == `"`+bare+`-gz"` {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding, honouring "gzip;q=0" as a refusal.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if c := strings.TrimSpace(coding); c != "gzip" && c != "*" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}
