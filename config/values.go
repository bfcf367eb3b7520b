package config

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder turns the generic values of one source (a JSON or HCL file, or
// the command line) into typed values. Every error names the source and
// the key, e.g. `config file /x/a.json: ports.http: expected a number, got "abc"`.
type decoder struct {
	src     string
	ignored []string // key paths accepted but not used by minconsul, in order
}

func (d *decoder) errf(key, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %s", d.src, key, fmt.Sprintf(format, args...))
}

func (d *decoder) ignore(key string) { d.ignored = append(d.ignored, key) }

// show renders a value the way it appeared in the source, for messages.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	case map[string]any, []map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (d *decoder) str(key string, v any) (*string, error) {
	s, ok := v.(string)
	if !ok {
		return nil, d.errf(key, "expected a string, got %s", show(v))
	}
	return &s, nil
}

// integer accepts JSON numbers, HCL ints and (like Consul's weakly typed
// decoding) strings holding a whole number.
func (d *decoder) integer(key string, v any) (*int, error) {
	var n int
	switch x := v.(type) {
	case int:
		n = x
	case int64:
		n = int(x)
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || x > math.MaxInt32 || x < math.MinInt32 {
			return nil, d.errf(key, "expected a whole number, got %s", show(v))
		}
		n = int(x)
	case json.Number:
		i, err := strconv.Atoi(string(x))
		if err != nil {
			return nil, d.errf(key, "expected a whole number, got %s", string(x))
		}
		n = i
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return nil, d.errf(key, "expected a number, got %s", show(v))
		}
		n = i
	default:
		return nil, d.errf(key, "expected a number, got %s", show(v))
	}
	return &n, nil
}

func (d *decoder) boolean(key string, v any) (*bool, error) {
	switch x := v.(type) {
	case bool:
		return &x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return &b, nil
		}
	}
	return nil, d.errf(key, "expected a boolean, got %s", show(v))
}

func (d *decoder) duration(key string, v any) (*time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return nil, d.errf(key, "expected a duration such as \"10s\", got %s", show(v))
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		return nil, d.errf(key, "invalid duration %q", s)
	}
	if dur < 0 {
		return nil, d.errf(key, "duration %q must not be negative", s)
	}
	return &dur, nil
}

// strings accepts a list of strings or a single string.
func (d *decoder) strings(key string, v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, d.errf(fmt.Sprintf("%s[%d]", key, i), "expected a string, got %s", show(e))
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return x, nil
	}
	return nil, d.errf(key, "expected a list of strings, got %s", show(v))
}

// object accepts a JSON object or HCL v1's decoding of blocks: a list of
// maps (one per block), which are merged in order.
func (d *decoder) object(key string, v any) (map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case []map[string]any:
		out := map[string]any{}
		for _, m := range x {
			for k, e := range m {
				out[k] = e
			}
		}
		return out, nil
	case []any:
		out := map[string]any{}
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, d.errf(key, "expected an object, got %s", show(v))
			}
			for k, e := range m {
				out[k] = e
			}
		}
		return out, nil
	}
	return nil, d.errf(key, "expected an object, got %s", show(v))
}

// objects accepts a list of objects or a single object (an HCL block
// repeated N times decodes as a list of N maps).
func (d *decoder) objects(key string, v any) ([]map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}, nil
	case []map[string]any:
		return x, nil
	case []any:
		out := make([]map[string]any, 0, len(x))
		for i, e := range x {
			switch m := e.(type) {
			case map[string]any:
				out = append(out, m)
			case []map[string]any: // HCL: a list element written as a block
				merged, err := d.object(fmt.Sprintf("%s[%d]", key, i), m)
				if err != nil {
					return nil, err
				}
				out = append(out, merged)
			default:
				return nil, d.errf(fmt.Sprintf("%s[%d]", key, i), "expected an object, got %s", show(e))
			}
		}
		return out, nil
	}
	return nil, d.errf(key, "expected a list of objects, got %s", show(v))
}

func (d *decoder) stringMap(key string, v any) (map[string]string, error) {
	m, err := d.object(key, v)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, d.errf(key+"."+k, "expected a string, got %s", show(e))
		}
		out[k] = s
	}
	return out, nil
}

// sortedKeys gives a deterministic walk, so that the first error reported
// for a file does not change from run to run.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
