package registrar

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/docker/docker/api/types/container"
)

// tagTemplate is registrator's -tags: comma-separated tags forced on every
// service, optionally a Go template over the inspected container (.ID,
// .Name, .Config.Labels, .Config.Env, ...) with registrator's helper
// functions. httpGet and jsonParse are left out: a registration must not
// wait on a third-party HTTP server.
type tagTemplate struct {
	static []string
	tmpl   *template.Template
}

func newTagTemplate(s string) (*tagTemplate, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if !strings.Contains(s, "{{") {
		return &tagTemplate{static: splitTags(s)}, nil
	}
	t, err := template.New("tags").Option("missingkey=zero").Funcs(tagFuncs()).Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-tags template %q: %w", s, err)
	}
	return &tagTemplate{tmpl: t}, nil
}

func (t *tagTemplate) render(c *container.InspectResponse) ([]string, error) {
	if t.tmpl == nil {
		return t.static, nil
	}
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, c); err != nil {
		return nil, err
	}
	return splitTags(b.String()), nil
}

// tagFuncs are registrator's template helpers (bridge.go), with the same
// names and argument order.
func tagFuncs() template.FuncMap {
	return template.FuncMap{
		"strSlice": func(v string, i ...int) string {
			switch {
			case len(i) == 1 && i[0] >= 0 && i[0] <= len(v):
				return v[i[0]:]
			case len(i) == 2 && i[0] >= 0 && i[1] >= 0 && i[0] <= len(v) && i[1] <= len(v):
				if i[1] < i[0] {
					return v[i[0]:]
				}
				return v[i[0]:i[1]]
			}
			return v
		},
		"sIndex":  func(i int, s []string) string { return pick(s, i) },
		"mIndex":  func(k string, m map[string]string) string { return m[k] },
		"toUpper": strings.ToUpper,
		"toLower": strings.ToLower,
		"replace": func(n int, old, new, v string) string { return strings.Replace(v, old, new, n) },
		"join":    func(sep string, s []string) string { return strings.Join(s, sep) },
		"split":   func(sep, v string) []string { return strings.Split(v, sep) },
		"splitIndex": func(i int, sep, v string) string {
			return pick(strings.Split(v, sep), i)
		},
		"matchFirstElement": func(r string, s []string) (string, error) {
			re, err := regexp.Compile(r)
			if err != nil {
				return "", err
			}
			for _, e := range s {
				if re.MatchString(e) {
					return e, nil
				}
			}
			return "", nil
		},
		"matchAllElements": func(r string, s []string) ([]string, error) {
			re, err := regexp.Compile(r)
			if err != nil {
				return nil, err
			}
			var out []string
			for _, e := range s {
				if re.MatchString(e) {
					out = append(out, e)
				}
			}
			return out, nil
		},
	}
}

// pick is s[i] with registrator's clamping; negative i counts from the end.
func pick(s []string, i int) string {
	if len(s) == 0 {
		return ""
	}
	if i < 0 {
		i = -i
		if i >= len(s) {
			return s[0]
		}
		return s[len(s)-i]
	}
	if i >= len(s) {
		return s[len(s)-1]
	}
	return s[i]
}
