package ui_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/testutil/testagent"
)

// TestUI_Browser drives the UI in headless Chromium against real agents:
// one browser for all subtests, a tab each, one shared agent (plus a clean
// one for the demo screenshots and one that is shut down).
func TestUI_Browser(t *testing.T) {
	bctx := startBrowser(t)
	base, c := uiAgent(t)

	t.Run("demo and screenshots", func(t *testing.T) {
		demoBase, demo := uiAgent(t)
		seedDemo(t, demo)
		tb := openTab(t, bctx, demoBase)
		tb.open("/ui/")
		if loc := tb.location(); !strings.HasSuffix(loc, "/ui/dc1/services") {
			t.Fatalf("/ui/ went to %s", loc)
		}
		tb.waitJS(rowHas("api", "Docker", "ghcr.io/acme/api:2.4.1", "2 containers", "grpc"))
		tb.waitJS(rowHas("worker", "Docker", "acme/worker:latest", "worker_1"))
		tb.waitJS(`document.querySelector('main .seg').innerText.replace(/\s+/g,' ').includes('Critical 1')`)
		tb.screenshot("services")
		tb.open("/ui/dc1/services/api")
		tb.waitJS(textHas("docker-host-1", "10.0.1.11:32769", "api_1", "429 Too Many Requests"))
		tb.screenshot("service")
		tb.open("/ui/dc1/nodes")
		tb.waitJS(rowHas("node1", "server", "leader", "127.0.0.1"))
		tb.screenshot("nodes")
		tb.open("/ui/dc1/kv/app/config.json/edit")
		tb.waitJS(`document.querySelector('input[value=json]').checked && document.querySelector('#kv-value').value.includes('"new_checkout": true')`)
		tb.screenshot("kv-editor")
		_, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		must(t, err)
		tb.open("/ui/dc1/services")
		tb.waitJS(`getComputedStyle(document.body).backgroundColor === 'rgb(14, 16, 20)'`)
		tb.screenshot("services-dark")
		_, err = chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		must(t, err)
		tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		tb.open("/ui/dc1/services")
		// Readable on a phone: the table becomes cards, nothing scrolls sideways.
		tb.waitJS(`document.documentElement.scrollWidth <= innerWidth && getComputedStyle(document.querySelector('main tbody tr')).display === 'block'`)
		tb.screenshot("services-phone")
	})

	t.Run("registration appears without reload", func(t *testing.T) {
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/services")
		eval[bool](tb, `(window.__sameDocument = true)`)
		must(t, c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "live-1", Name: "live-web", Port: 8080, Tags: []string{"blue"}}))
		tb.waitJS(rowHas("live-web", "blue", "1"))
		must(t, c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "live-2", Name: "live-web", Port: 8081, Tags: []string{"green"}}))
		tb.waitJS(rowHas("live-web", "blue", "green", "2"))
		must(t, c.Agent().ServiceDeregister("live-1"))
		must(t, c.Agent().ServiceDeregister("live-2"))
		tb.waitJS(`!` + row("live-web"))
		if !eval[bool](tb, `window.__sameDocument === true`) {
			t.Fatal("the page reloaded")
		}
	})

	t.Run("service page shows a TTL check turn critical", func(t *testing.T) {
		must(t, c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "pay-1", Name: "payments", Port: 9090, Address: "127.0.0.1",
			Tags: []string{"v3"}, Meta: map[string]string{"owner": "team-pay"},
			Check: &api.AgentServiceCheck{CheckID: "pay-ttl", Name: "payments TTL", TTL: "5m"}}))
		must(t, c.Agent().UpdateTTL("pay-ttl", "all good", api.HealthPassing))
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/services/payments")
		tb.waitJS(`document.querySelector('[data-check="pay-ttl"]')?.dataset.status === 'passing'`)
		tb.waitJS(textHas("node1", "127.0.0.1:9090", "pay-1", "v3", "owner", "team-pay", "payments TTL", "all good", "serfHealth"))
		must(t, c.Agent().UpdateTTL("pay-ttl", "database unreachable", api.HealthCritical))
		tb.waitJS(`document.querySelector('[data-check="pay-ttl"]')?.dataset.status === 'critical'`)
		tb.waitJS(`document.querySelector('[data-check="pay-ttl"]').innerText.includes('database unreachable')`)
		// The page saw the change happen, so it can say when.
		tb.waitJS(`document.querySelector('[data-check="pay-ttl"] .when').textContent.startsWith('changed ')`)
		// The list's health summary follows too.
		tb.open("/ui/dc1/services?status=critical")
		tb.waitJS(rowHas("payments", "1") + ` && !` + visibleRow("live-web"))
	})

	t.Run("nodes: servers, leader, live list, node page", func(t *testing.T) {
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/nodes")
		tb.waitJS(rowHas("node1", "server", "leader", "127.0.0.1"))
		tb.waitJS(`document.getElementById('hdr-leader').innerText.includes('node1')`)
		_, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext-1", Address: "10.9.9.9",
			Service: &api.AgentService{ID: "ext-svc-1", Service: "ext-svc", Port: 7000},
			Check:   &api.AgentCheck{Node: "ext-1", CheckID: "ext-check", Name: "external probe", ServiceID: "ext-svc-1", Status: api.HealthWarning, Output: "slow"}}, nil)
		must(t, err)
		tb.waitJS(rowHas("ext-1", "10.9.9.9", "1"))
		tb.click(`main tbody a[href="/ui/dc1/nodes/ext-1"]`)
		tb.waitReady()
		tb.waitJS(textHas("ext-svc", "ext-svc-1", "10.9.9.9:7000", "external probe", "slow", "service ext-svc"))
		tb.waitJS(`location.pathname === '/ui/dc1/nodes/ext-1' && !document.querySelector('main .badge.server')`)
		tb.open("/ui/dc1/nodes/no-such-node")
		tb.waitJS(textHas(`There is no node named "no-such-node"`))
	})

	t.Run("docker origin", func(t *testing.T) {
		must(t, c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "h:dock_1:80", Name: "dockweb", Port: 32800,
			Meta: map[string]string{"external-source": "docker", "docker-image": "nginx:1.27-alpine",
				"docker-container-name": "dock_1", "docker-container-id": "0123456789abcdef0123"}}))
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/services?filter=nginx")
		tb.waitJS(rowHas("dockweb", "Docker", "nginx:1.27-alpine", "dock_1") + ` && !` + visibleRow("payments"))
		tb.open("/ui/dc1/services/dockweb")
		tb.waitJS(textHas("Docker", "nginx:1.27-alpine", "dock_1", "0123456789ab"))
	})

	t.Run("keyboard only reaches every view", func(t *testing.T) {
		_, err := c.KV().Put(&api.KVPair{Key: "kbd/setting", Value: []byte("old")}, nil)
		must(t, err)
		must(t, c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "kbd-1", Name: "kbd-svc"}))
		must(t, c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "kbd-2", Name: "kbd-other"}))
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/services")
		tb.tabToAndEnter(`a.textContent === 'kbd-svc'`)
		tb.waitJS(`location.pathname === '/ui/dc1/services/kbd-svc'`)
		tb.waitReady()
		tb.tabToAndEnter(`a.id === 'nav-nodes'`)
		tb.waitJS(`location.pathname === '/ui/dc1/nodes'`)
		tb.waitReady()
		tb.tabToAndEnter(`a.textContent === 'node1' && a.closest('tbody')`)
		tb.waitJS(`location.pathname === '/ui/dc1/nodes/node1'`)
		tb.waitReady()
		tb.tabToAndEnter(`a.id === 'nav-kv'`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/'`)
		tb.waitReady()
		tb.tabToAndEnter(`a.textContent === 'kbd/'`)
		tb.waitReady()
		tb.tabToAndEnter(`a.textContent === 'setting'`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/kbd/setting/edit'`)
		tb.waitReady()
		tb.tabTo(`a.id === 'kv-value'`)
		tb.do(chromedp.KeyEvent(kb.End), chromedp.KeyEvent(" and new"))
		tb.tabToAndEnter(`a.type === 'submit'`)
		retry(t, func() error {
			v, _ := kvValue(t, c, "kbd/setting")
			return contains(v, "old and new")
		})
		// Back to the folder through the breadcrumb, and create a key there.
		tb.tabToAndEnter(`a.textContent === 'kbd' && a.closest('.crumbs')`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/kbd/'`)
		tb.waitReady()
		tb.tabToAndEnter(`a.textContent === 'Create'`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/kbd/create'`)
		tb.tabTo(`a.id === 'kv-name'`)
		tb.do(chromedp.KeyEvent("typed"))
		tb.tabTo(`a.id === 'kv-value'`)
		tb.do(chromedp.KeyEvent("by keyboard"))
		tb.tabToAndEnter(`a.type === 'submit'`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/kbd/typed/edit'`)
		if v, _ := kvValue(t, c, "kbd/typed"); v != "by keyboard" {
			t.Fatalf("keyboard-created value %q", v)
		}
		// "/" jumps to the filter; typing filters the list.
		tb.tabToAndEnter(`a.id === 'nav-services'`)
		tb.waitReady()
		tb.do(chromedp.KeyEvent("/"))
		tb.waitJS(`document.activeElement.matches('[data-filter]')`)
		tb.do(chromedp.KeyEvent("kbd-o"))
		tb.waitJS(visibleRow("kbd-other") + ` && !` + visibleRow("kbd-svc"))
		// The live indicator is a button too.
		tb.tabToAndEnter(`a.id === 'hdr-live'`)
		tb.waitJS(`document.getElementById('hdr-live').dataset.state === 'paused'`)
		tb.do(chromedp.KeyEvent(kb.Enter))
		tb.waitJS(`document.getElementById('hdr-live').dataset.state === 'live'`)
	})

	t.Run("paused updates resume", func(t *testing.T) {
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/services")
		tb.click("#hdr-live")
		tb.waitJS(`document.getElementById('hdr-live').innerText.includes('Paused')`)
		must(t, c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "while-paused", Name: "while-paused"}))
		tb.click("#hdr-live")
		tb.waitJS(visibleRow("while-paused"))
		tb.waitJS(`document.getElementById('hdr-live').innerText.includes('Live')`)
	})

	t.Run("a lost agent shows as disconnected with the error", func(t *testing.T) {
		a := testagent.Start(t, testagent.Options{NodeName: "doomed"})
		tb := openTab(t, bctx, "http://"+a.HTTPAddr())
		tb.open("/ui/dc1/services")
		tb.waitJS(`document.getElementById('hdr-live').dataset.state === 'live'`)
		must(t, a.Shutdown())
		tb.waitJS(`document.getElementById('hdr-live').dataset.state === 'disconnected'`)
		tb.waitJS(`document.querySelector('main [role=alert]')?.innerText.includes('failed')`)
	})
}

// row is a JavaScript expression for the list row whose first link is name.
func row(name string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('main tbody tr')].find(tr => tr.querySelector('a')?.textContent === %s)`, js(name))
}

func visibleRow(name string) string {
	return fmt.Sprintf(`(%s || {hidden: true}).hidden === false`, row(name))
}

// rowHas is true once the row of name shows every one of texts.
func rowHas(name string, texts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `(() => { const r = %s; if (!r) return false; const t = r.innerText;`, row(name))
	for _, s := range texts {
		fmt.Fprintf(&b, ` if (!t.includes(%s)) return false;`, js(s))
	}
	b.WriteString(` return true; })()`)
	return b.String()
}

// textHas is true once main shows every one of texts.
func textHas(texts ...string) string {
	var b strings.Builder
	b.WriteString(`(() => { const t = document.querySelector('main').innerText;`)
	for _, s := range texts {
		fmt.Fprintf(&b, ` if (!t.includes(%s)) return false;`, js(s))
	}
	b.WriteString(` return true; })()`)
	return b.String()
}
