package main

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestKeygen(t *testing.T) {
	rc, out, _ := runCLI(t, "", "keygen")
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if rc != 0 || err != nil || len(key) != 32 {
		t.Fatalf("keygen: rc %d %q %v", rc, out, err)
	}
	_, out2, _ := runCLI(t, "", "keygen")
	if out2 == out {
		t.Fatal("keygen made the same key twice")
	}
}

func TestKeyring_OneOperation(t *testing.T) {
	for _, args := range [][]string{{"keyring"}, {"keyring", "-list", "-use", "x"}} {
		rc, _, errOut := runCLI(t, "", args...)
		if rc != 1 || !strings.Contains(errOut, "Exactly one of -list, -install, -use, or -remove must be provided") {
			t.Fatalf("%v: rc %d %q", args, rc, errOut)
		}
	}
}
