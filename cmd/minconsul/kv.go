package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

func (c *cli) kvGet(args []string) int {
	var h httpFlags
	var b64, detailed, keys, recurse bool
	var sep string
	fs := c.newFlags("kv get")
	fs.BoolVar(&b64, "base64", false, "Base64 encode the value.")
	fs.BoolVar(&detailed, "detailed", false, "Provide additional metadata about the key (ModifyIndex, flags, ...).")
	fs.BoolVar(&keys, "keys", false, "List keys which start with the given prefix, but not their values.")
	fs.BoolVar(&recurse, "recurse", false, "Recursively look at all keys prefixed with the given path.")
	fs.StringVar(&sep, "separator", "/", "String to use as a separator between keys (with -keys).")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "kv get [options] [KEY_OR_PREFIX]", args); !ok {
		return rc
	}
	key, ok := optionalKey(fs)
	if !ok {
		return tooMany(c, "1", fs.NArg())
	}
	if key == "" && !recurse && !keys {
		c.err("Error! Missing KEY argument")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	kv := client.KV()
	switch {
	case keys:
		list, _, err := kv.Keys(key, sep, h.queryOptions())
		if err != nil {
			c.err("Error querying Consul agent: %s", err)
			return 1
		}
		for _, k := range list {
			c.out("%s", k)
		}
	case recurse:
		pairs, _, err := kv.List(key, h.queryOptions())
		if err != nil {
			c.err("Error querying Consul agent: %s", err)
			return 1
		}
		for i, p := range pairs {
			if detailed {
				c.out("%s", prettyPair(p, b64))
				if i < len(pairs)-1 {
					c.out("")
				}
				continue
			}
			c.out("%s:%s", p.Key, value(p.Value, b64))
		}
	default:
		p, _, err := kv.Get(key, h.queryOptions())
		if err != nil {
			c.err("Error querying Consul agent: %s", err)
			return 1
		}
		if p == nil {
			c.err("Error! No key exists at: %s", key)
			return 1
		}
		if detailed {
			c.out("%s", prettyPair(p, b64))
		} else {
			c.out("%s", value(p.Value, b64))
		}
	}
	return 0
}

func value(v []byte, b64 bool) string {
	if b64 {
		return base64.StdEncoding.EncodeToString(v)
	}
	return string(v)
}

// prettyPair is kv get -detailed's aligned "Name  value" table.
func prettyPair(p *api.KVPair, b64 bool) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 2, 6, ' ', 0)
	session := p.Session
	if session == "" {
		session = "-"
	}
	fmt.Fprintf(tw, "CreateIndex\t%d\n", p.CreateIndex)
	fmt.Fprintf(tw, "Flags\t%d\n", p.Flags)
	fmt.Fprintf(tw, "Key\t%s\n", p.Key)
	fmt.Fprintf(tw, "LockIndex\t%d\n", p.LockIndex)
	fmt.Fprintf(tw, "ModifyIndex\t%d\n", p.ModifyIndex)
	fmt.Fprintf(tw, "Session\t%s\n", session)
	fmt.Fprintf(tw, "Value\t%s", value(p.Value, b64))
	tw.Flush()
	return b.String()
}

// dataArg resolves Consul's DATA argument forms: "@file", "-" (stdin) or
// the literal value.
func (c *cli) dataArg(data string) (string, error) {
	switch {
	case data == "":
		return "", nil
	case data[0] == '@':
		b, err := os.ReadFile(data[1:])
		if err != nil {
			return "", fmt.Errorf("Failed to read file: %s", err)
		}
		return string(b), nil
	case data == "-":
		var b bytes.Buffer
		if _, err := io.Copy(&b, c.stdin); err != nil {
			return "", fmt.Errorf("Failed to read stdin: %s", err)
		}
		return b.String(), nil
	}
	return data, nil
}

func (c *cli) kvPut(args []string) int {
	var h httpFlags
	var cas, b64, acquire, release bool
	var flags, modifyIndex uint64
	var session string
	fs := c.newFlags("kv put")
	fs.BoolVar(&cas, "cas", false, "Perform a Check-And-Set operation (requires -modify-index).")
	fs.Uint64Var(&flags, "flags", 0, "Unsigned integer value to assign to this key-value pair.")
	fs.BoolVar(&b64, "base64", false, "Treat the data as base 64 encoded.")
	fs.Uint64Var(&modifyIndex, "modify-index", 0, "Unsigned integer representing the ModifyIndex of the key (with -cas).")
	fs.StringVar(&session, "session", "", "User-defined identifier for this session as a string.")
	fs.BoolVar(&acquire, "acquire", false, "Obtain a lock on the key (requires -session).")
	fs.BoolVar(&release, "release", false, "Forfeit the lock on the key (requires -session).")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "kv put [options] KEY [DATA]", args); !ok {
		return rc
	}
	var key, data string
	switch fs.NArg() {
	case 0:
		c.err("Error! Missing KEY argument")
		return 1
	case 1:
		key = fs.Arg(0)
	case 2:
		key = fs.Arg(0)
		d, err := c.dataArg(fs.Arg(1))
		if err != nil {
			c.err("Error! %s", err)
			return 1
		}
		data = d
	default:
		c.err("Error! Too many arguments (expected 1 or 2, got %d)", fs.NArg())
		return 1
	}
	val := []byte(data)
	if b64 {
		d, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			c.err("Error! Cannot base 64 decode data: %s", err)
			return 1
		}
		val = d
	}
	if (release || acquire) && session == "" {
		c.err("Error! Missing -session (required with -acquire and -release)")
		return 1
	}
	if cas && modifyIndex == 0 {
		c.err("Must specify -modify-index with -cas!")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	pair := &api.KVPair{Key: key, ModifyIndex: modifyIndex, Flags: flags, Value: val, Session: session}
	kv := client.KV()
	switch {
	case cas:
		ok, _, err := kv.CAS(pair, nil)
		if err != nil {
			c.err("Error! Did not write to %s: %s", key, err)
			return 1
		}
		if !ok {
			c.err("Error! Did not write to %s: CAS failed", key)
			return 1
		}
		c.out("Success! Data written to: %s", key)
	case acquire:
		ok, _, err := kv.Acquire(pair, nil)
		if err != nil {
			c.err("Error! Failed writing data: %s", err)
			return 1
		}
		if !ok {
			c.err("Error! Did not acquire lock")
			return 1
		}
		c.out("Success! Lock acquired on: %s", key)
	case release:
		ok, _, err := kv.Release(pair, nil)
		if err != nil {
			c.err("Error! Failed writing data: %s", err)
			return 1
		}
		if !ok {
			c.err("Error! Did not release lock")
			return 1
		}
		c.out("Success! Lock released on: %s", key)
	default:
		if _, err := kv.Put(pair, nil); err != nil {
			c.err("Error! Failed writing data: %s", err)
			return 1
		}
		c.out("Success! Data written to: %s", key)
	}
	return 0
}

func (c *cli) kvDelete(args []string) int {
	var h httpFlags
	var cas, recurse bool
	var modifyIndex uint64
	fs := c.newFlags("kv delete")
	fs.BoolVar(&cas, "cas", false, "Perform a Check-And-Set operation (requires -modify-index).")
	fs.Uint64Var(&modifyIndex, "modify-index", 0, "Unsigned integer representing the ModifyIndex of the key (with -cas).")
	fs.BoolVar(&recurse, "recurse", false, "Recursively delete all keys with the path.")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "kv delete [options] KEY_OR_PREFIX", args); !ok {
		return rc
	}
	key, ok := optionalKey(fs)
	if !ok {
		return tooMany(c, "1", fs.NArg())
	}
	switch {
	case key == "" && !recurse:
		c.err("Error! Missing KEY argument")
		return 1
	case cas && modifyIndex == 0:
		c.err("Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.")
		return 1
	case modifyIndex != 0 && !cas:
		c.err("Cannot specify -modify-index without -cas!")
		return 1
	case recurse && cas:
		c.err("Cannot specify both -cas and -recurse!")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	kv := client.KV()
	switch {
	case recurse:
		if _, err := kv.DeleteTree(key, nil); err != nil {
			c.err("Error! Did not delete prefix %s: %s", key, err)
			return 1
		}
		c.out("Success! Deleted keys with prefix: %s", key)
	case cas:
		ok, _, err := kv.DeleteCAS(&api.KVPair{Key: key, ModifyIndex: modifyIndex}, nil)
		if err != nil {
			c.err("Error! Did not delete key %s: %s", key, err)
			return 1
		}
		if !ok {
			c.err("Error! Did not delete key %s: CAS failed", key)
			return 1
		}
		c.out("Success! Deleted key: %s", key)
	default:
		if _, err := kv.Delete(key, nil); err != nil {
			c.err("Error deleting key %s: %s", key, err)
			return 1
		}
		c.out("Success! Deleted key: %s", key)
	}
	return 0
}

// kvEntry is Consul's kv export/import record.
type kvEntry struct {
	Key       string `json:"key"`
	Flags     uint64 `json:"flags"`
	Value     string `json:"value"`
	Namespace string `json:"namespace,omitempty"`
	Partition string `json:"partition,omitempty"`
}

func (c *cli) kvExport(args []string) int {
	var h httpFlags
	fs := c.newFlags("kv export")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "kv export [KEY_OR_PREFIX]", args); !ok {
		return rc
	}
	key, ok := optionalKey(fs)
	if !ok {
		return tooMany(c, "1", fs.NArg())
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	pairs, _, err := client.KV().List(key, h.queryOptions())
	if err != nil {
		c.err("Error querying Consul agent: %s", err)
		return 1
	}
	entries := make([]*kvEntry, len(pairs))
	for i, p := range pairs {
		entries[i] = &kvEntry{Key: p.Key, Flags: p.Flags, Value: base64.StdEncoding.EncodeToString(p.Value),
			Namespace: p.Namespace, Partition: p.Partition}
	}
	out, err := json.MarshalIndent(entries, "", "\t")
	if err != nil {
		c.err("Error exporting KV data: %s", err)
		return 1
	}
	c.out("%s", out)
	return 0
}

func (c *cli) kvImport(args []string) int {
	var h httpFlags
	fs := c.newFlags("kv import")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "kv import [DATA]", args); !ok {
		return rc
	}
	switch fs.NArg() {
	case 0:
		c.err("Error! Missing DATA argument")
		return 1
	case 1:
	default:
		c.err("Error! Too many arguments (expected 1, got %d)", fs.NArg())
		return 1
	}
	if fs.Arg(0) == "" {
		c.err("Error! Empty DATA argument")
		return 1
	}
	data, err := c.dataArg(fs.Arg(0))
	if err != nil {
		c.err("Error! %s", err)
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	var entries []*kvEntry
	if err := json.Unmarshal([]byte(data), &entries); err != nil {
		c.err("Cannot unmarshal data: %s", err)
		return 1
	}
	for _, e := range entries {
		if e == nil {
			c.err("Cannot unmarshal data: %s", errors.New("null entry"))
			return 1
		}
		v, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			c.err("Error base 64 decoding value for key %s: %s", e.Key, err)
			return 1
		}
		if _, err := client.KV().Put(&api.KVPair{Key: e.Key, Flags: e.Flags, Value: v}, nil); err != nil {
			c.err("Error! Failed writing data for key %s: %s", e.Key, err)
			return 1
		}
		c.out("Imported: %s", e.Key)
	}
	return 0
}

// optionalKey is the one optional KEY_OR_PREFIX argument of kv get,
// delete and export, without a leading slash; false: too many arguments.
func optionalKey(fs *flag.FlagSet) (string, bool) {
	switch fs.NArg() {
	case 0:
		return "", true
	case 1:
		return stripSlash(fs.Arg(0)), true
	}
	return "", false
}
