package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestKV_Commands(t *testing.T) {
	_, addr := newFake(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "v.txt")
	if err := os.WriteFile(file, []byte("from-file"), 0o644); err != nil {
		t.Fatal(err)
	}
	ha := "-http-addr=" + addr
	steps := []struct {
		stdin  string
		args   []string
		rc     int
		stdout string
		stderr string
	}{
		{"", []string{"kv", "get", ha, "missing"}, 1, "", "Error! No key exists at: missing\n"},
		{"", []string{"kv", "get", ha}, 1, "", "Error! Missing KEY argument\n"},
		{"", []string{"kv", "get", ha, "a", "b"}, 1, "", "Too many arguments (expected 1, got 2)\n"},
		{"", []string{"kv", "put", ha, "app/a", "1"}, 0, "Success! Data written to: app/a\n", ""},
		{"", []string{"kv", "put", ha, "-flags=42", "app/b", "@" + file}, 0, "Success! Data written to: app/b\n", ""},
		{"from-stdin", []string{"kv", "put", ha, "app/c/d", "-"}, 0, "Success! Data written to: app/c/d\n", ""},
		{"", []string{"kv", "put", ha, "-base64", "app/e", "aGk="}, 0, "Success! Data written to: app/e\n", ""},
		{"", []string{"kv", "put", ha, "-base64", "app/e", "!!"}, 1, "", "Error! Cannot base 64 decode data: illegal base64 data at input byte 0\n"},
		{"", []string{"kv", "put", ha, "empty"}, 0, "Success! Data written to: empty\n", ""},
		{"", []string{"kv", "put", ha}, 1, "", "Error! Missing KEY argument\n"},
		{"", []string{"kv", "put", ha, "-cas", "app/a", "x"}, 1, "", "Must specify -modify-index with -cas!\n"},
		{"", []string{"kv", "put", ha, "-cas", "-modify-index=99", "app/a", "x"}, 1, "", "Error! Did not write to app/a: CAS failed\n"},
		{"", []string{"kv", "put", ha, "-cas", "-modify-index=1", "app/a", "2"}, 0, "Success! Data written to: app/a\n", ""},
		{"", []string{"kv", "put", ha, "-acquire", "app/a"}, 1, "", "Error! Missing -session (required with -acquire and -release)\n"},
		{"", []string{"kv", "get", ha, "/app/a"}, 0, "2\n", ""},
		{"", []string{"kv", "get", ha, "app/b"}, 0, "from-file\n", ""},
		{"", []string{"kv", "get", ha, "-base64", "app/e"}, 0, "aGk=\n", ""},
		{"", []string{"kv", "get", ha, "-recurse", "app/"}, 0, "app/a:2\napp/b:from-file\napp/c/d:from-stdin\napp/e:hi\n", ""},
		{"", []string{"kv", "get", ha, "-keys", "app/"}, 0, "app/a\napp/b\napp/c/d\napp/e\n", ""},
		{"", []string{"kv", "get", ha, "-detailed", "app/b"}, 0,
			"CreateIndex      2\nFlags            42\nKey              app/b\nLockIndex        0\nModifyIndex      2\nSession          -\nValue            from-file\n", ""},
		{"", []string{"kv", "delete", ha}, 1, "", "Error! Missing KEY argument\n"},
		{"", []string{"kv", "delete", ha, "-modify-index=3", "app/a"}, 1, "", "Cannot specify -modify-index without -cas!\n"},
		{"", []string{"kv", "delete", ha, "-cas", "app/a"}, 1, "", "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.\n"},
		{"", []string{"kv", "delete", ha, "-cas", "-recurse", "-modify-index=3", "app/a"}, 1, "", "Cannot specify both -cas and -recurse!\n"},
		{"", []string{"kv", "delete", ha, "-cas", "-modify-index=1", "app/a"}, 1, "", "Error! Did not delete key app/a: CAS failed\n"},
		{"", []string{"kv", "delete", ha, "app/e"}, 0, "Success! Deleted key: app/e\n", ""},
		{"", []string{"kv", "delete", ha, "-recurse", "app/c"}, 0, "Success! Deleted keys with prefix: app/c\n", ""},
		{"", []string{"kv", "get", ha, "-keys", ""}, 0, "app/a\napp/b\nempty\n", ""},
		{"", []string{"kv", "get", ha, "-nope"}, 1, "", "flag provided but not defined: -nope\n"},
	}
	for i, s := range steps {
		rc, out, errOut := runCLI(t, s.stdin, s.args...)
		if rc != s.rc || out != s.stdout || (s.stderr != "" && !strings.HasPrefix(errOut, s.stderr)) || (s.stderr == "" && errOut != "") {
			t.Fatalf("step %d %q: rc=%d\nstdout=%q\nstderr=%q\nwant rc=%d stdout=%q stderr=%q", i, s.args, rc, out, errOut, s.rc, s.stdout, s.stderr)
		}
	}
}

func TestKV_ExportImport(t *testing.T) {
	_, addr := newFake(t)
	rc, _, _ := runCLI(t, "", "kv", "put", "-http-addr", addr, "-flags", "7", "cfg/x", "hello")
	if rc != 0 {
		t.Fatal("put failed")
	}
	runCLI(t, "", "kv", "put", "-http-addr", addr, "other", "o")
	rc, out, errOut := runCLI(t, "", "kv", "export", "-http-addr", addr, "cfg/")
	if rc != 0 {
		t.Fatalf("export: %d %s", rc, errOut)
	}
	want := "[\n\t{\n\t\t\"key\": \"cfg/x\",\n\t\t\"flags\": 7,\n\t\t\"value\": \"aGVsbG8=\"\n\t}\n]\n"
	if out != want {
		t.Fatalf("export output %q, want %q", out, want)
	}

	dst, addr2 := newFake(t)
	rc, out, errOut = runCLI(t, out, "kv", "import", "-http-addr", addr2, "-")
	if rc != 0 || out != "Imported: cfg/x\n" {
		t.Fatalf("import: %d %q %q", rc, out, errOut)
	}
	if p := dst.kv["cfg/x"]; p == nil || string(p.Value) != "hello" || p.Flags != 7 {
		t.Fatalf("imported %+v", p)
	}
	rc, _, errOut = runCLI(t, "", "kv", "import", "-http-addr", addr2, `[{"key":"k","value":"!!"}]`)
	if rc != 1 || !strings.HasPrefix(errOut, "Error base 64 decoding value for key k:") {
		t.Fatalf("bad import: %d %q", rc, errOut)
	}
	rc, _, errOut = runCLI(t, "", "kv", "import", "-http-addr", addr2, "not json")
	if rc != 1 || !strings.HasPrefix(errOut, "Cannot unmarshal data:") {
		t.Fatalf("bad json: %d %q", rc, errOut)
	}
	rc, _, errOut = runCLI(t, "", "kv", "import", "-http-addr", addr2)
	if rc != 1 || errOut != "Error! Missing DATA argument\n" {
		t.Fatalf("no data: %d %q", rc, errOut)
	}
}

func TestClient_EnvAddress(t *testing.T) {
	f, addr := newFake(t)
	t.Setenv("CONSUL_HTTP_ADDR", addr)
	rc, out, errOut := runCLI(t, "", "kv", "put", "k", "v")
	if rc != 0 || out != "Success! Data written to: k\n" {
		t.Fatalf("%d %q %q", rc, out, errOut)
	}
	if len(f.calls) != 1 || !strings.HasPrefix(f.calls[0], "PUT /v1/kv/k") {
		t.Fatalf("calls %q", f.calls)
	}
	// -http-addr wins over the environment.
	t.Setenv("CONSUL_HTTP_ADDR", "127.0.0.1:1")
	if rc, _, errOut := runCLI(t, "", "kv", "get", "-http-addr", addr, "k"); rc != 0 {
		t.Fatalf("%d %q", rc, errOut)
	}
}

func TestClient_Unreachable(t *testing.T) {
	t.Setenv("CONSUL_HTTP_ADDR", "127.0.0.1:1")
	rc, _, errOut := runCLI(t, "", "kv", "get", "k")
	if rc != 1 || !strings.HasPrefix(errOut, "Error querying Consul agent: ") {
		t.Fatalf("%d %q", rc, errOut)
	}
	rc, _, errOut = runCLI(t, "", "members")
	if rc != 1 || !strings.HasPrefix(errOut, "Error retrieving members: ") {
		t.Fatalf("%d %q", rc, errOut)
	}
}

func TestMembers(t *testing.T) {
	f, addr := newFake(t)
	f.members = []*api.AgentMember{
		{Name: "zclient", Addr: "10.0.0.9", Port: 8301, Status: 1, Tags: map[string]string{"role": "node", "dc": "dc1", "build": "1.20.0:abcd", "vsn": "2"}},
		{Name: "server-b", Addr: "10.0.0.2", Port: 8301, Status: 4, Tags: map[string]string{"role": "consul", "dc": "dc1", "build": "1.20.0", "vsn": "2"}},
		{Name: "server-a", Addr: "10.0.0.1", Port: 8301, Status: 1, Tags: map[string]string{"role": "consul", "dc": "dc1", "build": "1.20.0", "vsn": "2"}},
	}
	rc, out, _ := runCLI(t, "", "members", "-http-addr", addr)
	want := "" +
		"Node      Address        Status  Type    Build   Protocol  DC   Partition  Segment\n" +
		"server-a  10.0.0.1:8301  alive   server  1.20.0  2         dc1  default    <all>\n" +
		"server-b  10.0.0.2:8301  failed  server  1.20.0  2         dc1  default    <all>\n" +
		"zclient   10.0.0.9:8301  alive   client  1.20.0  2         dc1  default    <default>\n"
	if rc != 0 || out != want {
		t.Fatalf("rc=%d\n%s\nwant\n%s", rc, out, want)
	}
	rc, out, _ = runCLI(t, "", "members", "-http-addr", addr, "-status", "failed", "-detailed")
	want = "Node      Address        Status  Tags\n" +
		"server-b  10.0.0.2:8301  failed  ap=default,build=1.20.0,dc=dc1,role=consul,segment=<all>,vsn=2\n"
	if rc != 0 || out != want {
		t.Fatalf("rc=%d\n%q\nwant\n%q", rc, out, want)
	}
	if rc, out, _ := runCLI(t, "", "members", "-http-addr", addr, "-status", "left"); rc != 2 || out != "" {
		t.Fatalf("no match: rc=%d %q", rc, out)
	}
}

func TestCatalog(t *testing.T) {
	_, addr := newFake(t)
	rc, out, _ := runCLI(t, "", "catalog", "services", "-http-addr", addr)
	if rc != 0 || out != "consul\ndb\nweb\n" {
		t.Fatalf("%d %q", rc, out)
	}
	rc, out, _ = runCLI(t, "", "catalog", "services", "-http-addr", addr, "-tags")
	if rc != 0 || out != "consul      \ndb          \nweb         v1,v2\n" {
		t.Fatalf("%d %q", rc, out)
	}
	rc, out, _ = runCLI(t, "", "catalog", "nodes", "-http-addr", addr)
	want := "Node      ID        Address    DC\nnode-one  3f2a4b5c  10.0.0.1   dc1\nn2        ab        10.0.0.22  dc1\n"
	if rc != 0 || out != want {
		t.Fatalf("%d\n%q\nwant\n%q", rc, out, want)
	}
	rc, out, _ = runCLI(t, "", "catalog", "nodes", "-http-addr", addr, "-detailed")
	if rc != 0 || !strings.Contains(out, "lan=10.0.0.1, wan=10.0.0.1  consul-network-segment=") ||
		!strings.Contains(out, "3f2a4b5c-1111-2222-3333-444455556666") {
		t.Fatalf("%d\n%s", rc, out)
	}
	rc, _, errOut := runCLI(t, "", "catalog", "services", "-http-addr", addr, "extra")
	if rc != 1 || errOut != "Too many arguments (expected 0, got 1)\n" {
		t.Fatalf("%d %q", rc, errOut)
	}
	rc, _, errOut = runCLI(t, "", "catalog")
	if rc != 1 || !strings.Contains(errOut, "services") {
		t.Fatalf("%d %q", rc, errOut)
	}
}

func TestAgentControlCommands(t *testing.T) {
	f, addr := newFake(t)
	cases := []struct {
		args   []string
		rc     int
		stdout string
		stderr string
	}{
		{[]string{"leave", "-http-addr", addr}, 0, "Graceful leave complete\n", ""},
		// As Consul, the help follows the error on stdout.
		{[]string{"leave", "-http-addr", addr, "x"}, 1, "Usage: minconsul leave [options]\n\n", "Error found unexpected args: [x]\n"},
		{[]string{"reload", "-http-addr", addr}, 0, "Configuration reload triggered\n", ""},
		{[]string{"join", "-http-addr", addr, "10.0.0.5", "bad"}, 0, "Successfully joined cluster by contacting 1 nodes.\n", "Error joining address 'bad': "},
		{[]string{"join", "-http-addr", addr, "bad"}, 1, "", "Error joining address 'bad': "},
		{[]string{"join", "-http-addr", addr}, 1, "", "At least one address to join must be specified.\n"},
	}
	for _, tc := range cases {
		rc, out, errOut := runCLI(t, "", tc.args...)
		if strings.HasPrefix(tc.stdout, "Usage: ") && strings.HasPrefix(out, tc.stdout) {
			out = tc.stdout // the help's flag list is not pinned here
		}
		if rc != tc.rc || out != tc.stdout || (tc.stderr != "" && !strings.HasPrefix(errOut, tc.stderr)) || (tc.stderr == "" && errOut != "") {
			t.Fatalf("%q: rc=%d out=%q err=%q", tc.args, rc, out, errOut)
		}
	}
	joined := strings.Join(f.calls, "\n")
	if !strings.Contains(joined, "PUT /v1/agent/leave") || !strings.Contains(joined, "PUT /v1/agent/reload") ||
		!strings.Contains(joined, "PUT /v1/agent/join/10.0.0.5") {
		t.Fatalf("calls %s", joined)
	}
}

func TestVersion(t *testing.T) {
	rc, out, _ := runCLI(t, "", "version")
	if rc != 0 || !strings.HasPrefix(out, "Consul v"+Version+"\n") || !strings.Contains(out, "Protocol 2 spoken by default") ||
		!strings.Contains(out, "\nminconsul "+readBuildInfo().Version+", revision ") {
		t.Fatalf("%d %q", rc, out)
	}
	for _, args := range [][]string{{"version", "-format=json"}, {"version", "-format", "json"}} {
		rc, out, _ = runCLI(t, "", args...)
		var v map[string]any
		if rc != 0 || json.Unmarshal([]byte(out), &v) != nil || v["Version"] != Version {
			t.Fatalf("%d %q", rc, out)
		}
		for _, k := range []string{"Revision", "Prerelease", "BuildDate", "RPC", "Minconsul"} {
			if _, ok := v[k]; !ok {
				t.Fatalf("json lacks %s: %s", k, out)
			}
		}
	}
	if rc, _, errOut := runCLI(t, "", "version", "-format=xml"); rc != 1 || errOut != "Unknown format: xml\n" {
		t.Fatalf("%d %q", rc, errOut)
	}
	if rc, out, _ := runCLI(t, "", "--version"); rc != 0 || !strings.HasPrefix(out, "Consul v") {
		t.Fatalf("%d %q", rc, out)
	}
}

func TestDispatch(t *testing.T) {
	if rc, _, errOut := runCLI(t, ""); rc != 127 || !strings.Contains(errOut, "Available commands are:") {
		t.Fatalf("%d %q", rc, errOut)
	}
	if rc, _, errOut := runCLI(t, "", "frobnicate"); rc != 127 || !strings.Contains(errOut, "kv") {
		t.Fatalf("%d %q", rc, errOut)
	}
	if rc, _, errOut := runCLI(t, "", "kv"); rc != 1 || !strings.Contains(errOut, "get") {
		t.Fatalf("%d %q", rc, errOut)
	}
	if rc, out, _ := runCLI(t, "", "kv", "get", "-h"); rc != 0 || !strings.Contains(out, "-recurse") {
		t.Fatalf("%d %q", rc, out)
	}
	// A first argument that is a flag means "agent"; bad agent flags fail
	// before anything starts.
	if rc, _, errOut := runCLI(t, "", "-bootstrap", "-bootstrap-expect=3", "-data-dir", t.TempDir()); rc != 1 ||
		!strings.Contains(errOut, "mutually exclusive") {
		t.Fatalf("%d %q", rc, errOut)
	}
	if rc, out, _ := runCLI(t, "", "agent", "-h"); rc != 0 || !strings.Contains(out, "-retry-join") {
		t.Fatalf("%d %q", rc, out)
	}
}

func TestVersion_BuildInfoLine(t *testing.T) {
	b := buildInfo{Version: "v0.3.0", Revision: "0123456789abcdef0123", Modified: true}
	if got := b.String(); got != "minconsul v0.3.0, revision 0123456789ab (modified)" {
		t.Fatalf("%q", got)
	}
}
