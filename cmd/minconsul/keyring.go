package main

import (
	"crypto/rand"
	"encoding/base64"
	"sort"
)

// keygenCmd prints a new 32-byte gossip encryption key, base64, as
// `consul keygen`.
func (c *cli) keygenCmd(args []string) int {
	fs := c.newFlags("keygen")
	if rc, ok := c.parse(fs, "keygen", args); !ok {
		return rc
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		c.err("Error reading random data: %s", err)
		return 1
	}
	c.out("%s", base64.StdEncoding.EncodeToString(key))
	return 0
}

// keyringCmd is `consul keyring`: exactly one of -list, -install, -use,
// -remove, applied to every member of the LAN pool.
func (c *cli) keyringCmd(args []string) int {
	var h httpFlags
	var list bool
	var install, use, remove string
	fs := c.newFlags("keyring")
	fs.BoolVar(&list, "list", false, "List all keys currently in use within the cluster.")
	fs.StringVar(&install, "install", "", "Install a new encryption key. This will broadcast the new key to all members in the cluster.")
	fs.StringVar(&use, "use", "", "Change the primary encryption key, which is used to encrypt messages. The key must already be installed before this operation can succeed.")
	fs.StringVar(&remove, "remove", "", "Remove the given key from the cluster. This operation may only be performed on keys which are not currently the primary key.")
	h.client(fs)
	if rc, ok := c.parse(fs, "keyring [options]", args); !ok {
		return rc
	}
	n := 0
	for _, set := range []bool{list, install != "", use != "", remove != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		c.err("Exactly one of -list, -install, -use, or -remove must be provided")
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		c.err("Error initializing client: %s", err)
		return 1
	}
	op := client.Operator()
	switch {
	case list:
		c.out("==> Gathering installed encryption keys...")
		pools, err := op.KeyringList(nil)
		if err != nil {
			c.err("error: %s", err)
			return 1
		}
		for _, p := range pools {
			pool := p.Datacenter + " (LAN)"
			if p.WAN {
				pool = "WAN"
			}
			c.out("\n%s:", pool)
			keys := make([]string, 0, len(p.Keys))
			for k := range p.Keys {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				c.out("  %s [%d/%d]", k, p.Keys[k], p.NumNodes)
			}
		}
		return 0
	case install != "":
		c.out("==> Installing new gossip encryption key...")
		err = op.KeyringInstall(install, nil)
	case use != "":
		c.out("==> Changing primary gossip encryption key...")
		err = op.KeyringUse(use, nil)
	default:
		c.out("==> Removing gossip encryption key...")
		err = op.KeyringRemove(remove, nil)
	}
	if err != nil {
		c.err("error: %s", err)
		return 1
	}
	return 0
}
