package agent_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

func gossipKey(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

// startGossiping starts a server (bootstrap) or a client agent with the
// given gossip key on its own loopback address, joined to nobody.
func startGossiping(t *testing.T, name, ip string, server bool, key []byte) *testagent.Agent {
	return testagent.StartNoWait(t, testagent.Options{NodeName: name, DataDir: t.TempDir(), Mutate: func(c *agent.Config) {
		c.Server, c.Bootstrap = server, server
		c.BindAddr, c.AdvertiseAddr = ip, ip
		c.HTTPAddr, c.DNSAddr = ip+":0", ip+":0"
		c.GossipFast = true
		c.EncryptKey = key
	}})
}

// Two agents with different encrypt keys cannot join each other; with the
// same key they can. Then the keyring is rotated through the API.
func TestGossip_Encryption(t *testing.T) {
	k1, k2 := gossipKey(1), gossipKey(100)
	srv := startGossiping(t, "enc-srv", "127.0.0.50", true, k1)
	srv.WaitReady(t)
	wrong := startGossiping(t, "enc-wrong", "127.0.0.51", false, k2)
	if err := wrong.Client(t).Agent().Join(srv.SerfAddr(), false); err == nil {
		t.Fatal("join with a different key succeeded")
	}
	if members, _ := srv.Client(t).Agent().Members(false); len(members) != 1 {
		t.Fatalf("members after a refused join: %+v", members)
	}
	plain := startGossiping(t, "enc-plain", "127.0.0.52", false, nil)
	if err := plain.Client(t).Agent().Join(srv.SerfAddr(), false); err == nil {
		t.Fatal("join without a key to an encrypted pool succeeded")
	}
	same := startGossiping(t, "enc-same", "127.0.0.53", false, k1)
	if err := same.Client(t).Agent().Join(srv.SerfAddr(), false); err != nil {
		t.Fatalf("join with the same key: %v", err)
	}
	same.WaitReady(t)

	op := srv.Client(t).Operator()
	enc1, enc3 := base64.StdEncoding.EncodeToString(k1), base64.StdEncoding.EncodeToString(gossipKey(200))
	wantKeys := func(want map[string]int) {
		t.Helper()
		testutil.Retry(t, 10*time.Second, func() error {
			pools, err := op.KeyringList(nil)
			if err != nil {
				return err
			}
			if len(pools) != 1 || pools[0].NumNodes != 2 || fmt.Sprint(pools[0].Keys) != fmt.Sprint(want) {
				return fmt.Errorf("keyring %+v, want %v on 2 nodes", pools, want)
			}
			return nil
		})
	}
	wantKeys(map[string]int{enc1: 2})
	if err := op.KeyringInstall(enc3, nil); err != nil {
		t.Fatal(err)
	}
	wantKeys(map[string]int{enc1: 2, enc3: 2})
	if err := op.KeyringUse(enc3, nil); err != nil {
		t.Fatal(err)
	}
	if err := op.KeyringRemove(enc1, nil); err != nil {
		t.Fatal(err)
	}
	wantKeys(map[string]int{enc3: 2})
	if err := op.KeyringInstall("not-base64", nil); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("bad key: %v", err)
	}
	// The rotated keyring is on disk: a restart keeps using it.
	data, err := os.ReadFile(filepath.Join(srv.Config.DataDir, "serf", "local.keyring"))
	if err != nil || !strings.Contains(string(data), enc3) || strings.Contains(string(data), enc1) {
		t.Fatalf("keyring file: %s %v", data, err)
	}
	// An agent without encryption answers keyring calls with an error.
	if _, err := plain.Client(t).Operator().KeyringList(nil); err == nil || !strings.Contains(err.Error(), "not enabled") {
		t.Fatalf("keyring without encryption: %v", err)
	}
}
