package structs

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// Consul's limits on node and service meta (agent/structs): at most 64
// pairs, keys of letters, digits, '_' and '-' up to 128 characters, not
// starting with the reserved "consul-" (unless the writer is Consul
// itself), values up to 512 characters.
const (
	MetaMaxPairs       = 64
	MetaKeyMaxLength   = 128
	MetaValueMaxLength = 512
	MetaReservedPrefix = "consul-"
)

// MaxRegistrationBody bounds the JSON body of a catalog or agent
// registration: 64 meta pairs at their limits take about 41 KiB, so a
// legitimate registration is far below it.
const MaxRegistrationBody = 1 << 20

// ValidateMeta checks meta against Consul's limits and answers Consul's
// message (without the "Invalid ... Meta: " prefix its callers add).
// Pairs are checked in key order, so the message names the same pair
// every time.
func ValidateMeta(meta map[string]string, allowReserved bool) error {
	if len(meta) > MetaMaxPairs {
		return fmt.Errorf("Node metadata cannot contain more than %d key/value pairs", MetaMaxPairs)
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := validateMetaPair(k, meta[k], allowReserved); err != nil {
			return fmt.Errorf("Couldn't load metadata pair ('%s', '%s'): %s", k, meta[k], err)
		}
	}
	return nil
}

func validateMetaPair(key, value string, allowReserved bool) error {
	switch {
	case key == "":
		return fmt.Errorf("Key cannot be blank")
	case !metaKeyOK(key):
		return fmt.Errorf("Key contains invalid characters")
	case len(key) > MetaKeyMaxLength:
		return fmt.Errorf("Key is too long (limit: %d characters)", MetaKeyMaxLength)
	case !allowReserved && strings.HasPrefix(key, MetaReservedPrefix):
		return fmt.Errorf("Key prefix '%s' is reserved for internal use", MetaReservedPrefix)
	case len(value) > MetaValueMaxLength:
		return fmt.Errorf("Value is too long (limit: %d characters)", MetaValueMaxLength)
	}
	return nil
}

// metaKeyOK is Consul's ^[a-zA-Z0-9_-]+$ without a regexp.
func metaKeyOK(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return key != ""
}

// DecodeGossipKey decodes a gossip encryption key as Consul accepts it:
// base64 of 16, 24 or 32 bytes (`minconsul keygen` makes 32).
func DecodeGossipKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("failed to decode key from base64: %v", err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("key size is %d bytes; it must be 16, 24 or 32 bytes", len(key))
}
