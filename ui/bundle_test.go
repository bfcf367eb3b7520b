package ui

import (
	"strings"
	"testing"
)

func TestBundle(t *testing.T) {
	files := map[string][]byte{
		"js/main.js":  []byte("import { a, b as bee } from './lib/a.js';\nimport {\n  c\n} from './c.js';\nconsole.log(a(), bee, c);\n"),
		"js/lib/a.js": []byte("import { c } from '../c.js';\nexport function a() { return c; }\nexport const b = 2;\nexport async function d() {}\n"),
		"js/c.js":     []byte("export class c {}\n"),
	}
	out, err := bundle(files, "js/main.js")
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	// Dependencies come first, each once, as blocks with their exports.
	order := []string{`// js/c.js`, `__m["js/c.js"] = { c };`, `// js/lib/a.js`, `const { c } = __m["js/c.js"];`,
		`function a() { return c; }`, `__m["js/lib/a.js"] = { a, b, d };`, `// js/main.js`,
		`const { a, b: bee } = __m["js/lib/a.js"];`, `const { c } = __m["js/c.js"];`, `__m["js/main.js"] = {  };`}
	at := 0
	for _, want := range order {
		i := strings.Index(got[at:], want)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", want, got)
		}
		at += i + len(want)
	}
	if strings.Count(got, "// js/c.js") != 1 || strings.Contains(got, "export ") || strings.Contains(got, "import ") {
		t.Fatalf("bundle:\n%s", got)
	}
}

func TestBundle_Refusals(t *testing.T) {
	for name, files := range map[string]map[string][]byte{
		"cycle":          {"js/main.js": []byte("import { x } from './b.js';\n"), "js/b.js": []byte("import { y } from './main.js';\nexport const x = 1;\n")},
		"missing":        {"js/main.js": []byte("import { x } from './nope.js';\n")},
		"default export": {"js/main.js": []byte("export default 1;\n")},
		"export list":    {"js/main.js": []byte("const a = 1;\nexport { a };\n")},
		"star import":    {"js/main.js": []byte("import * as m from './b.js';\n"), "js/b.js": nil},
	} {
		if _, err := bundle(files, "js/main.js"); err == nil {
			t.Errorf("%s: bundled", name)
		}
	}
}

// The embedded modules bundle (load panics otherwise).
func TestBundle_Embedded(t *testing.T) {
	h := New()
	if len(h.AssetPaths()) != 4 || h.files["app.js"] == nil {
		t.Fatalf("assets %v", h.AssetPaths())
	}
}
