package ui_test

import (
	"testing"
)

// TestUI_Browser drives the UI in headless Chromium against a real agent:
// one browser, one agent, a tab per subtest.
func TestUI_Browser(t *testing.T) {
	bctx := startBrowser(t)
	base, c := uiAgent(t)

	t.Run("screenshots", func(t *testing.T) {
		seedDemo(t, c)
		tb := openTab(t, bctx, base)
		tb.open("/ui/dc1/services")
		tb.screenshot("services")
		tb.open("/ui/dc1/services/api")
		tb.screenshot("service")
		tb.open("/ui/dc1/nodes")
		tb.screenshot("nodes")
		tb.open("/ui/dc1/nodes/docker-host-2")
		tb.screenshot("node")
		tb.open("/ui/dc1/kv/app/")
		tb.screenshot("kv-folder")
		tb.open("/ui/dc1/kv/app/config.json/edit")
		tb.screenshot("kv-editor")
	})
}
