package registrar

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// metaValue is one SERVICE_* setting and where it came from, so that a
// warning can name the exact label or variable.
type metaValue struct {
	value  string
	source string // e.g. `label SERVICE_80_NAME` or `env SERVICE_TAGS`
}

// metadata is a container's SERVICE_* settings, as registrator reads them:
// keys lower-cased without the SERVICE_ prefix; SERVICE_<port>_<key>
// applies to that private port only and beats SERVICE_<key>; a label beats
// an environment variable of the same name.
type metadata struct {
	generic map[string]metaValue
	byPort  map[string]map[string]metaValue
}

// parseMetadata reads env ("K=V" lines) then labels; labels are applied
// last so they win, in sorted order so the result is deterministic.
func parseMetadata(env []string, labels map[string]string, warn func(string)) *metadata {
	m := &metadata{generic: map[string]metaValue{}, byPort: map[string]map[string]metaValue{}}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m.set("env", k, v, warn)
		}
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.set("label", k, labels[k], warn)
	}
	return m
}

func (m *metadata) set(kind, name, value string, warn func(string)) {
	if !strings.HasPrefix(name, "SERVICE_") {
		return
	}
	src := kind + " " + name
	key := strings.ToLower(strings.TrimPrefix(name, "SERVICE_"))
	if key == "" {
		return
	}
	mv := metaValue{value: value, source: src}
	if first, rest, ok := strings.Cut(key, "_"); ok && first != "" && first[0] >= '0' && first[0] <= '9' {
		port, err := strconv.Atoi(first)
		if err != nil || port < 1 || port > 65535 || rest == "" {
			warn(fmt.Sprintf("%s: %q is not a port number (1-65535); ignored", src, first))
			return
		}
		p := strconv.Itoa(port) // "080" and "80" are the same port
		if m.byPort[p] == nil {
			m.byPort[p] = map[string]metaValue{}
		}
		if value == "" {
			// registrator treats an empty value as unset; say so, since
			// SERVICE_8080_NAME= is more likely a templating slip.
			warn(fmt.Sprintf("%s is empty; ignored", src))
			delete(m.byPort[p], rest)
			return
		}
		m.byPort[p][rest] = mv
		return
	}
	if value == "" {
		if key != "ignore" {
			warn(fmt.Sprintf("%s is empty; ignored", src))
		}
		delete(m.generic, key)
		return
	}
	m.generic[key] = mv
}

// get returns the value of key for port: port-specific first, then generic.
func (m *metadata) get(port, key string) (metaValue, bool, bool) {
	if v, ok := m.byPort[port][key]; ok {
		return v, true, true
	}
	v, ok := m.generic[key]
	return v, ok, false
}

func (m *metadata) value(port, key string) string {
	v, _, _ := m.get(port, key)
	return v.value
}

// attrs is everything that applies to port (generic overlaid with the
// port's own keys), as registrator's attribute map.
func (m *metadata) attrs(port string) map[string]metaValue {
	out := make(map[string]metaValue, len(m.generic)+len(m.byPort[port]))
	for k, v := range m.generic {
		out[k] = v
	}
	for k, v := range m.byPort[port] {
		out[k] = v
	}
	return out
}

// isKnownKey reports the SERVICE_* keys the registrar interprets; every
// other key becomes service Meta.
func isKnownKey(k string) bool {
	switch k {
	case "name", "id", "tags", "ignore", "network",
		"check_http", "check_https", "check_http_method", "check_https_method",
		"check_tcp", "check_ttl", "check_script", "check_cmd", "check_grpc",
		"check_grpc_use_tls", "check_tls_skip_verify", "check_interval",
		"check_timeout", "check_initial_status", "check_deregister_after":
		return true
	}
	return false
}

// splitTags splits a comma-separated list; `\,` is a literal comma (as
// registrator). Empty items are dropped.
func splitTags(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == ',':
			cur.WriteByte(',')
			i++
		case c == ',':
			if t := strings.TrimSpace(cur.String()); t != "" {
				out = append(out, t)
			}
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		out = append(out, t)
	}
	return out
}

// truthy reads a boolean-ish label; registrator treats any non-empty value
// as true, minconsul also accepts an explicit false/0/no.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0", "no", "off":
		return false
	}
	return true
}
