package membership

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/minconsul/minconsul/structs"
)

// Gossip encryption, as Consul's: memberlist encrypts every gossip packet
// with the keyring's primary key and accepts any installed key. The
// keyring is kept in data_dir/serf/local.keyring (serf rewrites it on
// install, use and remove); at start the file wins over `encrypt`, as in
// Consul, so a rotated key survives a restart with the old config.

const keyringFile = "local.keyring"

// ErrNoEncryption answers keyring operations on an agent without gossip
// encryption.
var ErrNoEncryption = errors.New("Gossip encryption is not enabled on this agent")

// setupKeyring installs the keyring into conf (nil key and no file: no
// encryption).
func (ms *Membership) setupKeyring(conf *serf.Config) error {
	var path string
	if ms.cfg.DataDir != "" {
		path = filepath.Join(ms.cfg.DataDir, "serf", keyringFile)
	}
	keys, err := readKeyring(path)
	if err != nil {
		return err
	}
	if len(keys) > 0 && len(ms.cfg.EncryptKey) > 0 && !containsKey(keys, ms.cfg.EncryptKey) {
		ms.logger.Warn("encrypt key ignored: a keyring file exists and is used instead", "file", path)
	}
	if len(keys) == 0 && len(ms.cfg.EncryptKey) > 0 {
		keys = [][]byte{ms.cfg.EncryptKey}
		if path != "" {
			if err := writeKeyring(path, keys); err != nil {
				return err
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	kr, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return fmt.Errorf("gossip keyring: %w", err)
	}
	conf.MemberlistConfig.Keyring = kr
	conf.MemberlistConfig.GossipVerifyIncoming = !ms.cfg.EncryptPlainIncoming
	conf.MemberlistConfig.GossipVerifyOutgoing = !ms.cfg.EncryptPlainOutgoing
	conf.KeyringFile = path
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if string(x) == string(k) {
			return true
		}
	}
	return false
}

// readKeyring reads serf's keyring file: a JSON list of base64 keys, the
// primary first.
func readKeyring(path string) ([][]byte, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(data, &encoded); err != nil {
		return nil, fmt.Errorf("keyring file %s: %w", path, err)
	}
	keys := make([][]byte, 0, len(encoded))
	for _, e := range encoded {
		k, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			return nil, fmt.Errorf("keyring file %s: %w", path, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func writeKeyring(path string, keys [][]byte) error {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = base64.StdEncoding.EncodeToString(k)
	}
	data, err := json.Marshal(encoded)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// KeyringOp is one cluster-wide keyring operation (serf queries every
// member): "list", "install", "use" or "remove".
func (ms *Membership) KeyringOp(op, key string) (*structs.KeyringResponse, error) {
	if ms.serf == nil || !ms.serf.EncryptionEnabled() {
		return nil, ErrNoEncryption
	}
	km := ms.serf.KeyManager()
	var (
		resp *serf.KeyResponse
		err  error
	)
	switch op {
	case "list":
		resp, err = km.ListKeys()
	case "install":
		resp, err = km.InstallKey(key)
	case "use":
		resp, err = km.UseKey(key)
	case "remove":
		resp, err = km.RemoveKey(key)
	default:
		return nil, fmt.Errorf("unknown keyring operation %q", op)
	}
	out := &structs.KeyringResponse{Datacenter: ms.cfg.Datacenter, Keys: map[string]int{}, PrimaryKeys: map[string]int{},
		Messages: map[string]string{}}
	if resp != nil {
		out.NumNodes = resp.NumNodes
		for k, v := range resp.Keys {
			out.Keys[k] = v
		}
		for k, v := range resp.PrimaryKeys {
			out.PrimaryKeys[k] = v
		}
		for k, v := range resp.Messages {
			out.Messages[k] = v
		}
	}
	if err != nil {
		msgs := make([]string, 0, len(out.Messages))
		for node, m := range out.Messages {
			msgs = append(msgs, node+": "+m)
		}
		if len(msgs) > 0 {
			return out, fmt.Errorf("%v: %s", err, strings.Join(msgs, "; "))
		}
		return out, err
	}
	return out, nil
}
