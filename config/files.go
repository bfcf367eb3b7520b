package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl"
)

// configFile is one file to read, in precedence order.
type configFile struct {
	path   string
	format string // "json" or "hcl"
}

func formatOf(path, forced string) string {
	if forced != "" {
		return forced
	}
	switch {
	case strings.HasSuffix(path, ".json"):
		return "json"
	case strings.HasSuffix(path, ".hcl"):
		return "hcl"
	}
	return ""
}

// expandPaths turns -config-file/-config-dir arguments (in command line
// order) into the files to read: a directory contributes its *.json and
// *.hcl files in lexical order, not recursing into sub-directories.
func expandPaths(paths []string, forced string, warn func(string)) ([]configFile, error) {
	var out []configFile
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
		if !fi.IsDir() {
			f := formatOf(p, forced)
			if f == "" {
				warn(fmt.Sprintf("skipping file %s, extension must be .hcl or .json, or config format must be set", p))
				continue
			}
			out = append(out, configFile{path: p, format: f})
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("config: reading directory %s: %v", p, err)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, name := range names {
			fp := filepath.Join(p, name)
			st, err := os.Stat(fp) // follows symlinks, as Consul does
			if err != nil {
				return nil, fmt.Errorf("config: %v", err)
			}
			if st.IsDir() {
				continue
			}
			f := formatOf(fp, forced)
			if f == "" {
				warn(fmt.Sprintf("skipping file %s, extension must be .hcl or .json, or config format must be set", fp))
				continue
			}
			out = append(out, configFile{path: fp, format: f})
		}
	}
	return out, nil
}

// parseSource decodes JSON or HCL bytes into a generic map. src names the
// source in errors ("config file /x/a.json").
func parseSource(src, format string, data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	switch format {
	case "json":
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: invalid JSON: %s", src, jsonErr(data, err))
		}
		if m == nil { // "null"
			return nil, fmt.Errorf("%s: invalid JSON: expected an object at the top level", src)
		}
	case "hcl":
		if err := hcl.Decode(&m, string(data)); err != nil {
			return nil, fmt.Errorf("%s: invalid HCL: %v", src, err)
		}
		if m == nil {
			m = map[string]any{}
		}
	default:
		return nil, fmt.Errorf("%s: unknown config format %q (must be json or hcl)", src, format)
	}
	return m, nil
}

// jsonErr adds a line and column to encoding/json's byte offsets.
func jsonErr(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		if te.Field == "" {
			return "expected an object at the top level"
		}
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}
