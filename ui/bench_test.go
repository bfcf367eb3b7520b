package ui_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/ui"
)

// BenchmarkUI measures the speed figures in headless Chromium
// against an agent holding 1,000 services on 100 nodes, each next to a
// baseline measured in the same run:
//
//	payload:      bytes a first visit downloads (gzip), against the 100 KB budget
//	render:       navigation -> services page painted with every row and count,
//	              first visit (HTTP cache off) and later visit, against a bare
//	              static page with the same table rendered server-side, and an
//	              empty page (each marked once painted)
//	registration: PUT /v1/agent/service/register from the open page -> its row
//	              on screen, against the PUT's own round trip
//	idle:         agent process CPU while a services tab stays open and nothing
//	              changes, against the same window with no tab
//
// go test -run '^$' -bench UI -benchtime 5x ./ui
func BenchmarkUI(b *testing.B) {
	bctx := startBrowser(b)
	base, c := uiAgent(b)
	start := time.Now()
	seedScale(b, c, 100, 1000)
	b.Logf("registered 1,000 services on 100 nodes in %s", time.Since(start).Round(time.Millisecond))
	static := httptest.NewServer(staticServicesPage(b, c))
	b.Cleanup(static.Close)

	b.Run("payload", func(b *testing.B) {
		tb := openTab(b, bctx, base)
		var transferred float64
		for b.Loop() {
			setCache(tb, false)
			tb.open("/ui/dc1/services")
			transferred = eval[float64](tb, `performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
				.filter(e => new URL(e.name).pathname.startsWith('/ui/')).reduce((n, e) => n + e.encodedBodySize, 0)`)
		}
		h := ui.New()
		total := 0
		for _, p := range h.AssetPaths() {
			r := httptest.NewRequest("GET", p, nil)
			r.Header.Set("Accept-Encoding", "gzip")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			total += w.Body.Len()
		}
		b.ReportMetric(float64(total)/1024, "KB-gzip-all")
		b.ReportMetric(transferred/1024, "KB-gzip-loaded")
		b.ReportMetric(float64(total)/(100*1024), "x-budget")
	})

	b.Run("render-1000-services", func(b *testing.B) {
		tb := openTab(b, bctx, base)
		var cold, warm, bare, empty []float64
		uiReady := func() float64 {
			tb.open("/ui/dc1/services")
			tb.waitJS(`performance.getEntriesByName('minconsul:services-ready').length > 0`)
			return eval[float64](tb, `(() => {
				if (document.querySelectorAll('main tbody tr').length < 1000) throw new Error('rows missing');
				return performance.getEntriesByName('minconsul:services-ready')[0].startTime; })()`)
		}
		pageReady := func(path string) float64 {
			tb.do(chromedp.Navigate(static.URL + path))
			tb.waitJS(`performance.getEntriesByName('ready').length > 0`)
			return eval[float64](tb, `performance.getEntriesByName('ready')[0].startTime`)
		}
		for b.Loop() {
			setCache(tb, false) // a first visit: every UI file fetched
			cold = append(cold, uiReady())
			setCache(tb, true) // a later visit: the versioned files come from the cache
			uiReady()
			warm = append(warm, uiReady())
			bare = append(bare, pageReady("/table"))
			empty = append(empty, pageReady("/empty"))
		}
		b.ReportMetric(median(cold), "ms-ui-first-visit")
		b.ReportMetric(median(warm), "ms-ui-cached")
		b.ReportMetric(median(bare), "ms-static-table")
		b.ReportMetric(median(empty), "ms-empty-page")
		b.ReportMetric(median(cold)/median(bare), "x-static-table")
	})

	b.Run("registration-visible", func(b *testing.B) {
		tb := openTab(b, bctx, base)
		tb.open("/ui/dc1/services")
		var visible, put []float64
		i := 0
		for b.Loop() {
			i++
			r := eval[[]float64](tb, fmt.Sprintf(`(async (name) => {
				const tbody = document.querySelector('main tbody');
				const has = () => [...tbody.querySelectorAll('tr a')].some(a => a.textContent === name);
				const seen = new Promise(res => {
					const mo = new MutationObserver(() => { if (has()) { mo.disconnect(); res(performance.now()); } });
					mo.observe(tbody, { childList: true, subtree: true });
				});
				const t0 = performance.now();
				const r = await fetch('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Name: name, ID: name, Port: 80 }) });
				if (!r.ok) throw new Error(await r.text());
				const tPut = performance.now();
				return [tPut - t0, (await seen) - t0];
			})(%s)`, js(fmt.Sprintf("bench-reg-%d", i))))
			put = append(put, r[0])
			visible = append(visible, r[1])
		}
		b.ReportMetric(median(visible), "ms-visible")
		b.ReportMetric(median(put), "ms-put")
		b.ReportMetric(median(visible)/median(put), "x-put")
	})

	b.Run("idle-tab-cpu", func(b *testing.B) {
		const window = 3 * time.Second
		var withTab, reqs float64
		without := cpuDuring(window) // no tab is open: the earlier ones closed with their sub-benchmarks
		tb := openTab(b, bctx, base)
		tb.open("/ui/dc1/services")
		for b.Loop() {
			n0 := eval[float64](tb, `performance.getEntriesByType('resource').length`)
			withTab = cpuDuring(window)
			reqs = eval[float64](tb, `performance.getEntriesByType('resource').length`) - n0
		}
		b.ReportMetric(without*1000/window.Seconds(), "ms-cpu/s-no-tab")
		b.ReportMetric(withTab*1000/window.Seconds(), "ms-cpu/s-idle-tab")
		b.ReportMetric(reqs, "requests-while-idle")
	})
}

// setCache turns the tab's HTTP cache on or off; off, every navigation
// fetches the UI's files again, as a first visit does.
func setCache(tb *tab, on bool) {
	if _, err := chromedp.Call(tb.ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: !on}); err != nil {
		tb.t.Fatal(err)
	}
}

// cpuDuring is the CPU time this process (the in-process agent, mostly)
// spends during d of doing nothing else, in seconds.
func cpuDuring(d time.Duration) float64 {
	before := cpuTime()
	time.Sleep(d) // the measured window itself, not a wait for a condition
	return (cpuTime() - before).Seconds()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// staticServicesPage serves the baselines: /table is the services table
// (name, health counts, instances, tags) rendered once on the server from
// the same catalog; /empty is an empty page. Each marks "ready" when parsed.
func staticServicesPage(b *testing.B, c *api.Client) http.Handler {
	services, _, err := c.Catalog().Services(nil)
	must(b, err)
	checks, _, err := c.Health().State("any", nil)
	must(b, err)
	type row struct{ passing, warning, critical, instances int }
	rows := map[string]*row{}
	for name := range services {
		rows[name] = &row{}
	}
	seen := map[string]bool{}
	for _, ch := range checks {
		r := rows[ch.ServiceName]
		if r == nil {
			continue
		}
		switch ch.Status {
		case "passing":
			r.passing++
		case "warning":
			r.warning++
		default:
			r.critical++
		}
		if !seen[ch.Node+"/"+ch.ServiceID] {
			seen[ch.Node+"/"+ch.ServiceID] = true
			r.instances++
		}
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>services</title></head><body><h1>Services</h1><table><thead><tr><th>Service</th><th>Health</th><th>Instances</th><th>Tags</th></tr></thead><tbody>`)
	for _, n := range names {
		r := rows[n]
		fmt.Fprintf(&sb, `<tr><td><a href="/ui/dc1/services/%s">%s</a></td><td>%d passing %d warning %d critical</td><td>%d</td><td>%s</td></tr>`,
			html.EscapeString(n), html.EscapeString(n), r.passing, r.warning, r.critical, r.instances, html.EscapeString(strings.Join(services[n], " ")))
	}
	sb.WriteString(`</tbody></table><script>` + markAfterPaint + `</script></body></html>`)
	table := sb.String()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/table" {
			_, _ = w.Write([]byte(table))
			return
		}
		_, _ = w.Write([]byte(`<!doctype html><html><head><meta charset="utf-8"><title>empty</title></head><body><script>` + markAfterPaint + `</script></body></html>`))
	})
}

// markAfterPaint marks "ready" in the task after the next animation frame,
// once the page has been laid out and painted, as the UI marks its own.
const markAfterPaint = `requestAnimationFrame(() => setTimeout(() => performance.mark('ready')))`
