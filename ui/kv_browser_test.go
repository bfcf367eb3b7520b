package ui_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"
)

// TestUI_KV drives the Key/Value pages in headless Chromium and reads every
// effect back through the HTTP API.
func TestUI_KV(t *testing.T) {
	bctx := startBrowser(t)
	base, c := uiAgent(t)
	put := func(k, v string) {
		_, err := c.KV().Put(&api.KVPair{Key: k, Value: []byte(v)}, nil)
		must(t, err)
	}

	t.Run("create in the folder viewed, edit, delete", func(t *testing.T) {
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/kv/shop/")
		tb.waitJS(textHas("This folder is empty"))
		tb.click(`main .page-head a.btn.primary`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/shop/create'`)
		tb.waitJS(`document.querySelector('.prefixed .pfx').textContent === 'shop/'`)
		tb.typeInto("#kv-name", "cart/limit")
		tb.typeInto("#kv-value", "10")
		tb.click(`main form button[type=submit]`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/shop/cart/limit/edit'`)
		tb.waitReady()
		// Created where the user was looking, nested as typed (Consul's UI
		// puts it one level up).
		if v, ok := kvValue(t, c, "shop/cart/limit"); !ok || v != "10" {
			t.Fatalf("created value %q %v", v, ok)
		}
		tb.waitJS(`document.querySelector('#kv-value').value === '10'`)
		tb.typeInto("#kv-value", "25")
		tb.click(`main form button[type=submit]`)
		tb.waitJS(textHas("Saved shop/cart/limit."))
		if v, _ := kvValue(t, c, "shop/cart/limit"); v != "25" {
			t.Fatalf("edited value %q", v)
		}
		tb.click(`main .page-head .btn.danger`)
		tb.waitJS(`document.querySelector('dialog[open]')?.innerText.includes('shop/cart/limit')`)
		tb.click(`dialog[open] [data-confirm]`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/shop/cart/'`)
		tb.waitJS(textHas("Deleted shop/cart/limit."))
		if _, ok := kvValue(t, c, "shop/cart/limit"); ok {
			t.Fatal("key still there after delete")
		}
	})

	t.Run("a concurrent edit is a conflict, not an overwrite", func(t *testing.T) {
		put("conflict/key", "v1")
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/kv/conflict/key/edit")
		tb.waitJS(`document.querySelector('#kv-value').value === 'v1'`)
		tb.typeInto("#kv-value", "mine")
		put("conflict/key", "theirs")
		// The open page sees the other write and keeps the edit.
		tb.waitJS(textHas("Someone else changed this key while you were editing"))
		tb.waitJS(`document.querySelector('#kv-value').value === 'mine'`)
		tb.click(`main form button[type=submit]`)
		tb.waitJS(`document.querySelector('main [role=alert]')?.innerText.includes('Conflict')`)
		tb.waitJS(`document.querySelector('[data-theirs]').textContent === 'theirs'`)
		if v, _ := kvValue(t, c, "conflict/key"); v != "theirs" {
			t.Fatalf("the other writer's value was overwritten: %q", v)
		}
		// Overwriting is an explicit second decision.
		tb.click(`main [role=alert] .btn.danger`)
		tb.waitJS(textHas("Saved conflict/key."))
		if v, _ := kvValue(t, c, "conflict/key"); v != "mine" {
			t.Fatalf("after overwrite %q", v)
		}
		// With live updates paused the page cannot see the other write:
		// the save still conflicts instead of overwriting.
		tb.click("#hdr-live")
		tb.waitJS(`document.getElementById('hdr-live').dataset.state === 'paused'`)
		tb.typeInto("#kv-value", "mine again")
		put("conflict/key", "theirs again")
		tb.click(`main form button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-theirs]')?.textContent === 'theirs again'`)
		if v, _ := kvValue(t, c, "conflict/key"); v != "theirs again" {
			t.Fatalf("paused page overwrote: %q", v)
		}
		tb.click(`main [role=alert] .btn:not(.danger)`)
		tb.waitJS(`document.querySelector('#kv-value').value === 'theirs again'`)
	})

	t.Run("keys with @, unicode and URL characters round-trip", func(t *testing.T) {
		key := "team@corp/ünï ✓/a b?c#d%e@f+g"
		put(key, "hello ✓")
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/kv/")
		tb.click(`main a[href="/ui/dc1/kv/team%40corp/"]`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/team%40corp/'`)
		tb.waitReady()
		tb.waitJS(textHas("ünï ✓/"))
		tb.click(`main tbody a`)
		tb.waitJS(textHas("a b?c#d%e@f+g"))
		tb.click(`main tbody a`)
		tb.waitJS(`location.pathname.endsWith('/edit') && document.querySelector('#kv-value')?.value === 'hello ✓'`)
		tb.typeInto("#kv-value", "héllo again ✓")
		tb.click(`main form button[type=submit]`)
		tb.waitJS(textHas("Saved " + key + "."))
		if v, _ := kvValue(t, c, key); v != "héllo again ✓" {
			t.Fatalf("read back %q", v)
		}
		// A deep link to the key (as a bookmark) opens it.
		loc := tb.location()
		tb2 := openTab(t, bctx, base)
		tb2.open(strings.TrimPrefix(loc, base))
		tb2.waitJS(`document.querySelector('#kv-value').value === 'héllo again ✓'`)
		// Create one through the form, too.
		tb.open("/ui/dc1/kv/team%40corp/create")
		tb.typeInto("#kv-name", "ключ@home ?#%")
		tb.typeInto("#kv-value", "значение")
		tb.click(`main form button[type=submit]`)
		tb.waitJS(`location.pathname.endsWith('/edit')`)
		if v, _ := kvValue(t, c, "team@corp/ключ@home ?#%"); v != "значение" {
			t.Fatalf("created %q", v)
		}
	})

	t.Run("JSON is validated and binary shown as base64", func(t *testing.T) {
		put("data/cfg.json", `{"a":1}`)
		_, err := c.KV().Put(&api.KVPair{Key: "data/blob", Value: []byte{0, 1, 2, 255}}, nil)
		must(t, err)
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/kv/data/cfg.json/edit")
		tb.waitJS(`document.querySelector('input[value=json]').checked && document.querySelector('#kv-value').value === '{"a":1}'`)
		tb.typeInto("#kv-value", `{"a":1,}`)
		tb.waitJS(textHas("Invalid JSON"))
		tb.click(`main form button[type=submit]`)
		tb.waitJS(textHas("not valid JSON"))
		if v, _ := kvValue(t, c, "data/cfg.json"); v != `{"a":1}` {
			t.Fatalf("invalid JSON was stored: %q", v)
		}
		tb.typeInto("#kv-value", `{"a":1,"b":[true,null]}`)
		tb.click(`main form .editor-bar button.btn.small`)
		tb.waitJS(`document.querySelector('#kv-value').value.includes('\n  "b": [')`)
		tb.click(`main form button[type=submit]`)
		tb.waitJS(textHas("Saved data/cfg.json."))
		if v, _ := kvValue(t, c, "data/cfg.json"); v != "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ]\n}" {
			t.Fatalf("formatted JSON stored as %q", v)
		}
		tb.open("/ui/dc1/kv/data/blob/edit")
		tb.waitJS(`document.querySelector('input[value=base64]').checked && document.querySelector('#kv-value').value === 'AAEC/w=='`)
		tb.click(`input[value=text]`)
		tb.waitJS(textHas("it can only be edited as base64") + ` && document.querySelector('input[value=base64]').checked`)
		tb.typeInto("#kv-value", "AAEC/wA=")
		tb.click(`main form button[type=submit]`)
		tb.waitJS(textHas("Saved data/blob."))
		p, _, err := c.KV().Get("data/blob", nil)
		must(t, err)
		if string(p.Value) != "\x00\x01\x02\xff\x00" {
			t.Fatalf("binary stored as %q", p.Value)
		}
	})

	t.Run("rename moves a key only if the new name is free", func(t *testing.T) {
		put("ren/old", "keep me")
		put("ren/taken", "other")
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/kv/ren/old/edit")
		rename := func(to string) {
			tb.click(`main .page-head .actions .btn:not(.danger)`)
			tb.waitJS(`document.querySelector('dialog[open] #kv-rename') !== null`)
			tb.typeInto("#kv-rename", to)
			tb.click(`dialog[open] [data-confirm]`)
		}
		rename("ren/taken")
		tb.waitJS(textHas("Not renamed: ren/taken already exists."))
		if v, _ := kvValue(t, c, "ren/taken"); v != "other" {
			t.Fatalf("rename overwrote an existing key: %q", v)
		}
		rename("ren/new name@x")
		tb.waitJS(`location.pathname === '/ui/dc1/kv/ren/new%20name%40x/edit'`)
		tb.waitJS(`document.querySelector('#kv-value')?.value === 'keep me'`)
		if v, _ := kvValue(t, c, "ren/new name@x"); v != "keep me" {
			t.Fatalf("renamed value %q", v)
		}
		if _, ok := kvValue(t, c, "ren/old"); ok {
			t.Fatal("old key still there")
		}
	})

	t.Run("API errors are shown in the page", func(t *testing.T) {
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/kv/big/create")
		tb.typeInto("#kv-name", "value")
		// Over the agent's 512 KiB value limit: the 413 must be visible.
		eval[bool](tb, `(() => { const a = document.querySelector('#kv-value'); a.value = 'x'.repeat(600 * 1024); a.dispatchEvent(new Event('input')); return true; })()`)
		tb.click(`main form button[type=submit]`)
		tb.waitJS(`document.querySelector('main [role=alert]')?.innerText.includes('413')`)
		if _, ok := kvValue(t, c, "big/value"); ok {
			t.Fatal("oversized value stored")
		}
	})

	t.Run("delete a folder after seeing how many keys go", func(t *testing.T) {
		for _, k := range []string{"gone/a", "gone/b", "gone/sub/c"} {
			put(k, "x")
		}
		put("gone-not/a", "stays")
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/kv/gone/")
		tb.click(`main .page-head .btn.danger`)
		tb.waitJS(`document.querySelector('dialog[open]')?.innerText.includes('3 keys')`)
		tb.click(`dialog[open] [data-confirm]`)
		tb.waitJS(`location.pathname === '/ui/dc1/kv/'`)
		keys, _, err := c.KV().Keys("gone/", "", nil)
		must(t, err)
		if len(keys) != 0 {
			t.Fatalf("left behind: %v", keys)
		}
		if v, _ := kvValue(t, c, "gone-not/a"); v != "stays" {
			t.Fatal("a sibling folder with the same prefix was deleted")
		}
	})

	t.Run("export and import in kv export format", func(t *testing.T) {
		put("exp/one", "1")
		_, err := c.KV().Put(&api.KVPair{Key: "exp/sub/two", Value: []byte("2"), Flags: 7}, nil)
		must(t, err)
		dir := t.TempDir()
		tb := openTab(t, bctx, base)
		_, err = chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: "allow", DownloadPath: dir})
		must(t, err)
		tb.open("/ui/dc1/kv/exp/")
		tb.click(`main .page-head .actions button:nth-of-type(1)`)
		var exported []struct {
			Key   string `json:"key"`
			Flags uint64 `json:"flags"`
			Value string `json:"value"`
		}
		retry(t, func() error {
			b, err := os.ReadFile(filepath.Join(dir, "exp-export.json"))
			if err != nil {
				return err
			}
			return json.Unmarshal(b, &exported)
		})
		if len(exported) != 2 || exported[0].Key != "exp/one" || exported[0].Value != base64.StdEncoding.EncodeToString([]byte("1")) ||
			exported[1].Key != "exp/sub/two" || exported[1].Flags != 7 {
			t.Fatalf("export: %+v", exported)
		}
		// Import it elsewhere (as `consul kv import` would after editing the file).
		for i := range exported {
			exported[i].Key = strings.Replace(exported[i].Key, "exp/", "imp/", 1)
		}
		b, _ := json.Marshal(exported)
		file := filepath.Join(t.TempDir(), "import.json")
		must(t, os.WriteFile(file, b, 0o644))
		tb.open("/ui/dc1/kv/imp/")
		tb.do(chromedp.SetUploadFiles(chromedp.ID("kv-import-file"), []string{file}))
		tb.waitJS(`document.querySelector('dialog[open]')?.innerText.includes('Import 2 keys')`)
		tb.click(`dialog[open] [data-confirm]`)
		tb.waitJS(textHas("Imported 2 keys"))
		p, _, err := c.KV().Get("imp/sub/two", nil)
		must(t, err)
		if p == nil || string(p.Value) != "2" || p.Flags != 7 {
			t.Fatalf("imported %+v", p)
		}
		tb.waitJS(textHas("one", "sub/")) // the open folder updated itself
		// A bad file writes nothing and says why.
		bad := filepath.Join(t.TempDir(), "bad.json")
		must(t, os.WriteFile(bad, []byte(`[{"key":"imp/x","value":"!!"}]`), 0o644))
		tb.do(chromedp.SetUploadFiles(chromedp.ID("kv-import-file"), []string{bad}))
		tb.waitJS(textHas("Nothing was imported", "must be base64"))
		if _, ok := kvValue(t, c, "imp/x"); ok {
			t.Fatal("bad import wrote a key")
		}
	})
}
