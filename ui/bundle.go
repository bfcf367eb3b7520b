package ui

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// bundle joins the application's modules (entry and what it imports) into
// one module script, so that a first visit fetches one file instead of a
// dozen: over HTTP/1.1's six connections per host that saves round trips,
// more so to a remote agent. It is not a general bundler: the modules here
// only use `import { a, b as c } from './x.js';` and `export function|const|
// let|class name`, and anything else is an error (a build bug the tests
// catch). Each module becomes a block, its own scope as a module is; its
// imports become constants bound to the exports of modules placed before
// it (the import graph has no cycles); its exports become an object.
func bundle(files map[string][]byte, entry string) ([]byte, error) {
	importRE := regexp.MustCompile(`(?m)^import\s*\{([^}]*)\}\s*from\s*'([^']+)';[ \t]*$`)
	exportRE := regexp.MustCompile(`(?m)^export\s+((?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*))`)
	leftoverRE := regexp.MustCompile(`(?m)^\s*(import|export)\b`)

	var out strings.Builder
	out.WriteString("// The UI's modules in one file (ui/bundle.go); the sources are ui/assets/js/*.js.\nconst __m = {};\n")
	state := map[string]int{} // 1: being placed, 2: placed
	var place func(name string) error
	place = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("import cycle through %s", name)
		case 2:
			return nil
		}
		state[name] = 1
		src, ok := files[name]
		if !ok {
			return fmt.Errorf("no module %s", name)
		}
		var head strings.Builder
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			dep := path.Join(path.Dir(name), m[2])
			if err := place(dep); err != nil {
				return err
			}
			names := strings.ReplaceAll(strings.Join(strings.Fields(m[1]), " "), " as ", ": ")
			fmt.Fprintf(&head, "const { %s } = __m[%q];\n", names, dep)
		}
		body := importRE.ReplaceAllString(string(src), "")
		var exports []string
		for _, m := range exportRE.FindAllStringSubmatch(body, -1) {
			exports = append(exports, m[2])
		}
		body = exportRE.ReplaceAllString(body, "$1")
		if loc := leftoverRE.FindStringIndex(body); loc != nil {
			return fmt.Errorf("%s: unsupported import/export form: %q", name, strings.SplitN(body[loc[0]:], "\n", 2)[0])
		}
		fmt.Fprintf(&out, "\n// %s\n{\n%s%s__m[%q] = { %s };\n}\n", name, head.String(), body, name, strings.Join(exports, ", "))
		state[name] = 2
		return nil
	}
	err := place(entry)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", entry, err)
	}
	return []byte(out.String()), nil
}
