package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/minconsul/minconsul/structs"
)

// Security settings: minconsul implements gossip encryption (encrypt) and
// fails closed on what it cannot enforce. A config that enables ACLs with
// default_policy "deny", or asks for TLS verification, refuses to start
// with one line naming the key: an agent must never run open while its
// file says closed. Other ACL and TLS keys (allow policies, file paths)
// keep the "not supported" warning.

// securityRaw is what one source says about security (merged like the
// rest of rawConfig: later sources override).
type securityRaw struct {
	ACLEnabled       *bool
	ACLDefaultPolicy *string
	// ACLPolicyKey names where the default policy was set (for the error).
	ACLPolicyKey *string
	// TLSVerify lists the verify_* keys set to true, by path.
	TLSVerify []string
	Encrypt   *string
	// encrypt_verify_incoming / _outgoing (true unless set): false lets an
	// encrypted agent accept or send plain gossip while a cluster turns
	// encryption on.
	EncryptVerifyIncoming *bool
	EncryptVerifyOutgoing *bool
}

func (d *decoder) acl(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		// Every ACL key keeps the "not supported" warning; enabled and
		// default_policy are also read, to refuse a closed configuration.
		d.ignore(p)
		switch k {
		case "enabled":
			r.Security.ACLEnabled, err = d.boolean(p, m[k])
		case "default_policy":
			r.Security.ACLDefaultPolicy, err = d.str(p, m[k])
			r.Security.ACLPolicyKey = ptr(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// legacyACL reads the pre-1.4 top-level keys: acl_default_policy (with
// acl_datacenter, which enabled ACLs then).
func (d *decoder) legacyACL(r *rawConfig, key string, v any) error {
	switch key {
	case "acl_default_policy":
		s, err := d.str(key, v)
		if err != nil {
			return err
		}
		r.Security.ACLDefaultPolicy, r.Security.ACLPolicyKey = s, ptr(key)
		d.ignore(key)
	case "acl_datacenter", "primary_datacenter":
		if _, err := d.str(key, v); err != nil {
			return err
		}
		if key == "acl_datacenter" {
			r.Security.ACLEnabled = ptr(true)
		}
		d.ignore(key)
	}
	return nil
}

// tlsVerify walks a tls block (or reads a top-level verify_* key) and
// records every verify_* set to true; other keys are ignored with the
// warning.
func (d *decoder) tlsVerify(r *rawConfig, key string, v any) error {
	switch v.(type) {
	case map[string]any, []map[string]any:
		m, err := d.object(key, v)
		if err != nil {
			return err
		}
		for _, k := range sortedKeys(m) {
			if err := d.tlsVerify(r, key+"."+k, m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if !strings.HasPrefix(key[strings.LastIndex(key, ".")+1:], "verify_") {
		d.ignore(key)
		return nil
	}
	b, err := d.boolean(key, v)
	if err != nil {
		return err
	}
	if *b {
		r.Security.TLSVerify = append(r.Security.TLSVerify, key)
	}
	return nil
}

// limits reads Consul's limits block (kv_max_value_size, txn_max_req_len).
func (d *decoder) limits(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		switch k {
		case "kv_max_value_size":
			n, err := d.integer(p, m[k])
			if err != nil {
				return err
			}
			if *n < 1 {
				return d.errf(p, "must be a positive number of bytes, got %d", *n)
			}
			r.KVMaxValueSize = n
		case "txn_max_req_len":
			if r.TxnMaxReqLen, err = d.integer(p, m[k]); err != nil {
				return err
			}
		default:
			d.ignore(p)
		}
	}
	return nil
}

// checkSecurity refuses what minconsul cannot enforce, and checks the
// gossip key.
func checkSecurity(s *securityRaw) error {
	if s.ACLEnabled != nil && *s.ACLEnabled && s.ACLDefaultPolicy != nil && *s.ACLDefaultPolicy == "deny" {
		return fmt.Errorf("%s = \"deny\" with ACLs enabled: minconsul does not implement ACLs and will not run open "+
			"while the configuration says closed; remove the acl settings (or set default_policy = \"allow\") to start", *s.ACLPolicyKey)
	}
	if len(s.TLSVerify) > 0 {
		keys := append([]string(nil), s.TLSVerify...)
		sort.Strings(keys)
		return fmt.Errorf("%s = true: minconsul does not implement TLS and will not run unverified while the "+
			"configuration asks for verification; remove the TLS verify settings to start", keys[0])
	}
	if s.Encrypt != nil {
		if _, err := structs.DecodeGossipKey(*s.Encrypt); err != nil {
			return fmt.Errorf("encrypt: %v", err)
		}
	}
	return nil
}
