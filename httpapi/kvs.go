package httpapi

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/minconsul/minconsul/structs"
)

// kvEndpoint serves /v1/kv/<key>. The key is the decoded URL path after the
// prefix; Consul validates it the same way for every method.
func (s *Server) kvEndpoint(q *request) error {
	path := q.r.URL.Path
	if strings.Contains(path, "../") || strings.Contains(path, `..\`) {
		return badRequest("URL path contains invalid traversal sequence")
	}
	key := q.tail
	if key != "" {
		if err := validateKey(key); err != nil {
			return err
		}
	}
	switch q.r.Method {
	case http.MethodGet:
		if q.has("keys") {
			return s.kvKeys(q, key)
		}
		return s.kvGet(q, key)
	case http.MethodPut:
		return s.kvPut(q, key)
	default:
		return s.kvDelete(q, key)
	}
}

// validateKey rejects keys no Consul client can round-trip: control
// characters, invalid UTF-8 and "../" traversal segments. Anything else
// printable is a valid key, as it has always been in Consul (newer Consul
// releases are stricter; being liberal keeps existing data and tools such
// as registrator and consul-template working).
func validateKey(key string) error {
	if key == "" {
		return badRequest("key cannot be empty")
	}
	if !utf8.ValidString(key) {
		return badRequest("key is not valid UTF-8")
	}
	for i, r := range key {
		if r < 0x20 || r == 0x7f {
			return badRequest(fmt.Sprintf("key contains invalid character %q at position %d", r, i))
		}
	}
	if key == ".." || strings.HasPrefix(key, "../") || strings.Contains(key, "/../") || strings.HasSuffix(key, "/..") {
		return badRequest("key contains path traversal sequence")
	}
	return nil
}

func (s *Server) kvGet(q *request, key string) error {
	recurse := q.has("recurse")
	if !recurse && key == "" {
		return badRequest("Missing key name")
	}
	if recurse {
		entries, _, err := read(s, q, &structs.KeyRequest{Key: key}, s.backend.KVList)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			q.w.WriteHeader(http.StatusNotFound)
			return nil
		}
		return writeEntries(q, entries)
	}

	entry, _, err := read(s, q, &structs.KeyRequest{Key: key}, s.backend.KVGet)
	if err != nil {
		return err
	}
	if entry == nil {
		q.w.WriteHeader(http.StatusNotFound)
		return nil
	}
	if q.has("raw") {
		// Consul's headers keep a browser from running a stored value.
		h := q.w.Header()
		h["Content-Length"] = []string{strconv.Itoa(len(entry.Value))}
		h[hdrContentType] = []string{"text/plain"}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		h["Content-Security-Policy"] = []string{"sandbox"}
		_, _ = q.w.Write(entry.Value)
		return nil
	}
	one := [1]*structs.DirEntry{entry}
	return writeEntries(q, one[:])
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeEntries encodes a DirEntry list by hand (the KV GET hot path); with
// ?pretty it falls back to encoding/json, which gives the same fields.
func writeEntries(q *request, entries []*structs.DirEntry) error {
	if q.has("pretty") {
		return writeJSON(q, entries)
	}
	bp := bufPool.Get().(*[]byte)
	buf := appendDirEntries((*bp)[:0], entries)
	writeBody(q, buf)
	if cap(buf) <= 64<<10 {
		*bp = buf
		bufPool.Put(bp)
	}
	return nil
}

// appendDirEntries writes what encoding/json writes for
// []*structs.DirEntry (field order, omitempty Session, base64 Value,
// HTML-safe string escaping), except that an empty Value is null as well as
// a nil one: Consul keeps an empty value as nil (its Raft codec decodes a
// zero-length value so), and clients see "Value":null for a key PUT with an
// empty body (python-consul returns None, the Go client a nil slice).
func appendDirEntries(buf []byte, entries []*structs.DirEntry) []byte {
	buf = append(buf, '[')
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		if e == nil {
			buf = append(buf, "null"...)
			continue
		}
		buf = append(buf, `{"LockIndex":`...)
		buf = strconv.AppendUint(buf, e.LockIndex, 10)
		buf = append(buf, `,"Key":`...)
		buf = appendJSONString(buf, e.Key)
		buf = append(buf, `,"Flags":`...)
		buf = strconv.AppendUint(buf, e.Flags, 10)
		buf = append(buf, `,"Value":`...)
		if len(e.Value) == 0 {
			buf = append(buf, "null"...)
		} else {
			buf = append(buf, '"')
			buf = base64.StdEncoding.AppendEncode(buf, e.Value)
			buf = append(buf, '"')
		}
		if e.Session != "" {
			buf = append(buf, `,"Session":`...)
			buf = appendJSONString(buf, e.Session)
		}
		buf = append(buf, `,"CreateIndex":`...)
		buf = strconv.AppendUint(buf, e.CreateIndex, 10)
		buf = append(buf, `,"ModifyIndex":`...)
		buf = strconv.AppendUint(buf, e.ModifyIndex, 10)
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s the way encoding/json does by default.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

func (s *Server) kvKeys(q *request, prefix string) error {
	// Consul still honours its historic misspelling; the right one wins.
	var sep string
	if q.has("seperator") {
		sep = q.query.Get("seperator")
	}
	if q.has("separator") {
		sep = q.query.Get("separator")
	}
	keys, _, err := read(s, q, &structs.KeyListRequest{Prefix: prefix, Separator: sep}, s.backend.KVKeys)
	if err != nil {
		return err
	}
	// The root answers an empty list rather than 404, so an empty store is
	// not an error.
	if len(keys) == 0 && prefix != "" {
		q.w.WriteHeader(http.StatusNotFound)
		return nil
	}
	if keys == nil {
		keys = []string{}
	}
	return writeJSON(q, keys)
}

// conflictingFlags is Consul's check that at most one of flags is present.
func conflictingFlags(q *request, flags ...string) error {
	n := 0
	for _, f := range flags {
		if q.has(f) {
			n++
		}
	}
	if n > 1 {
		return badRequest("Conflicting flags: " + q.query.Encode() + "\n")
	}
	return nil
}

// parseKVWriteParams reads ?flags and ?cas for a KV write.
func parseKVWriteParams(q *request) (flags, cas uint64, hasCAS bool, err error) {
	if q.has("flags") {
		if flags, err = strconv.ParseUint(q.query.Get("flags"), 10, 64); err != nil {
			return 0, 0, false, badRequest(err.Error())
		}
	}
	if q.has("cas") {
		if cas, err = strconv.ParseUint(q.query.Get("cas"), 10, 64); err != nil {
			return 0, 0, false, badRequest(err.Error())
		}
		hasCAS = true
	}
	return flags, cas, hasCAS, nil
}

func (s *Server) kvPut(q *request, key string) error {
	if key == "" {
		return badRequest("Missing key name")
	}
	if err := conflictingFlags(q, "cas", "acquire", "release"); err != nil {
		return err
	}
	flags, cas, hasCAS, err := parseKVWriteParams(q)
	if err != nil {
		return err
	}
	limit := s.kvMaxValueSize()
	if q.r.ContentLength > limit {
		return tooLarge(q.r.ContentLength, limit)
	}
	value, err := readValue(q.r, limit)
	if err != nil {
		return badRequest("Failed to read request body: " + err.Error())
	}
	if int64(len(value)) > limit {
		return tooLarge(int64(len(value)), limit)
	}
	if value == nil {
		value = []byte{}
	}
	cmd := structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{Key: key, Flags: flags, Value: value}}
	conditional := true
	switch {
	case hasCAS:
		cmd.Type = structs.KVCAS
		cmd.KV.ModifyIndex = cas
	case q.has("acquire"):
		cmd.Type = structs.KVLock
		cmd.KV.Session = q.query.Get("acquire")
	case q.has("release"):
		cmd.Type = structs.KVUnlock
		cmd.KV.Session = q.query.Get("release")
	default:
		conditional = false
	}
	idx, res, err := s.backend.Apply(q.r.Context(), cmd)
	if err != nil {
		return err
	}
	ok := true
	if conditional {
		ok, _ = res.(bool)
	}
	return writeBool(q, idx, ok)
}

// kvMaxValueSize is limits.kv_max_value_size (Consul's 512 KiB unless
// configured).
func (s *Server) kvMaxValueSize() int64 {
	if s.cfg.KVMaxValueSize > 0 {
		return int64(s.cfg.KVMaxValueSize)
	}
	return structs.MaxKVValueSize
}

// readValue reads a PUT body of at most limit+1 bytes (one past the
// limit, so that the caller can refuse a chunked body that is too large).
// With a Content-Length, as every client but a chunked one sends, it is
// one exactly sized read instead of io.ReadAll's growing buffer.
func readValue(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	n := r.ContentLength
	if n < 0 || n > limit {
		return io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	value := make([]byte, n)
	if _, err := io.ReadFull(r.Body, value); err != nil {
		return nil, err
	}
	return value, nil
}

func tooLarge(n, limit int64) error {
	return &httpError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
		"Request body(%d bytes) too large, max size: %d bytes. See %s.", n, limit,
		"https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size")}
}

func (s *Server) kvDelete(q *request, key string) error {
	if err := conflictingFlags(q, "recurse", "cas"); err != nil {
		return err
	}
	cmd := structs.Command{Type: structs.KVDelete, KV: &structs.DirEntry{Key: key}}
	if q.has("recurse") {
		cmd.Type = structs.KVDeleteTree
	} else if key == "" {
		return badRequest("Missing key name")
	}
	_, cas, hasCAS, err := parseKVWriteParams(q)
	if err != nil {
		return err
	}
	if hasCAS {
		cmd.Type = structs.KVDeleteCAS
		cmd.KV.ModifyIndex = cas
	}
	idx, res, err := s.backend.Apply(q.r.Context(), cmd)
	if err != nil {
		return fmt.Errorf("kv delete %q: %w", key, err)
	}
	ok := true
	if hasCAS {
		ok, _ = res.(bool)
	}
	return writeBool(q, idx, ok)
}

var (
	trueBody  = []byte("true")
	falseBody = []byte("false")
)

// writeBool answers a write: `true`/`false` and the write's index.
func writeBool(q *request, idx uint64, ok bool) error {
	setIndex(q.w.Header(), idx)
	if q.has("pretty") {
		return writeJSON(q, ok)
	}
	if ok {
		writeBody(q, trueBody)
	} else {
		writeBody(q, falseBody)
	}
	return nil
}
