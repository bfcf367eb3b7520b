package httpapi

import (
	"net/url"
	"testing"

	"github.com/minconsul/minconsul/structs"
)

// FuzzFilter: any ?filter either compiles and filters, or is a 400; it
// never panics, and what it keeps is a subset.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{`ServiceMeta.env == "qa"`, `"v1" in ServiceTags`, `NodeMeta["a b"] matches "^x"`,
		`not (ServicePort == 80 or ServiceName != "web")`, `ServiceTags is empty`, `foo`, `Node ==`, `((((`,
		`ServiceMeta.env matches "("`, "ServiceName == `raw`", `ServicePort == 1e9`} {
		f.Add(s)
	}
	rows := structs.ServiceNodes{
		{Node: "n1", ServiceName: "web", ServiceTags: []string{"v1"}, ServicePort: 80, ServiceMeta: map[string]string{"env": "qa"}, NodeMeta: map[string]string{"a b": "x"}},
		{Node: "n2", ServiceName: "db", ServicePort: 5432},
	}
	f.Fuzz(func(t *testing.T, expr string) {
		q := &request{query: url.Values{"filter": {expr}}}
		flt, err := parseFilter(q, (*structs.ServiceNode)(nil))
		if err != nil {
			if code, _ := errorStatus(err); code != 400 {
				t.Fatalf("%q: status %d", expr, code)
			}
			return
		}
		out, err := apply(flt, rows)
		if err == nil && len(out) > len(rows) {
			t.Fatalf("%q kept %d of %d", expr, len(out), len(rows))
		}
	})
}
