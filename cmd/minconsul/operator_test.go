package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

// operatorFake answers the operator, snapshot and force-leave endpoints
// the way a one-server cluster does.
type operatorFake struct {
	mu       sync.Mutex
	archive  []byte
	restored []byte
	left     []string
}

func (f *operatorFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/operator/raft/configuration":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Servers":[{"ID":"id-1","Node":"s1","Address":"127.0.0.1:8300","Leader":true,"ProtocolVersion":"3","Voter":true},`+
			`{"ID":"id-2","Node":"(unknown)","Address":"127.0.0.2:8300","Leader":false,"ProtocolVersion":"","Voter":false}],"Index":7}`)
	case r.URL.Path == "/v1/operator/raft/peer" && r.Method == http.MethodDelete:
		if id := r.URL.Query().Get("id"); id != "id-2" {
			http.Error(w, fmt.Sprintf("id %q was not found in the Raft configuration", id), http.StatusInternalServerError)
		}
	case r.URL.Path == "/v1/snapshot" && r.Method == http.MethodGet:
		w.Header().Set("X-Consul-Index", "42")
		_, _ = w.Write(f.archive)
	case r.URL.Path == "/v1/snapshot" && r.Method == http.MethodPut:
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		f.restored = b.Bytes()
	case strings.HasPrefix(r.URL.Path, "/v1/agent/force-leave/"):
		f.left = append(f.left, strings.TrimPrefix(r.URL.Path, "/v1/agent/force-leave/"))
	default:
		http.NotFound(w, r)
	}
}

// testArchive is a real backup archive from an in-memory store.
func testArchive(t *testing.T) ([]byte, *structs.SnapshotMeta) {
	t.Helper()
	st, err := raftstore.New(raftstore.Config{Dev: true, NodeID: "id-1", NodeName: "s1"}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Shutdown() })
	if err := st.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	// Something of each kind for inspect's table: two KV entries, a node
	// with a service (three Register records with its check).
	for _, k := range []string{"a", "b"} {
		if _, _, err := st.Apply(ctx, structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{Key: k, Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.Apply(ctx, structs.Command{Type: structs.CatalogRegister, Register: &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "web", Service: "web"},
		Check:   &structs.HealthCheck{Node: "n1", CheckID: "c", Name: "c", Status: structs.HealthPassing}}}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	meta, err := st.SaveSnapshot(ctx, &b, false)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), meta
}

func TestOperator_CLI(t *testing.T) {
	f := &operatorFake{}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	ha := "-http-addr=" + hs.Listener.Addr().String()
	steps := []struct {
		args   []string
		rc     int
		stdout string
		stderr string // prefix
	}{
		{[]string{"operator", "raft", "list-peers", ha}, 0,
			"Node       ID    Address         State     Voter  RaftProtocol\n" +
				"s1         id-1  127.0.0.1:8300  leader    true   3\n" +
				"(unknown)  id-2  127.0.0.2:8300  follower  false  <=1\n", ""},
		{[]string{"operator", "raft", "remove-peer", ha, "-id=id-2"}, 0, "Removed peer with id \"id-2\"\n", ""},
		{[]string{"operator", "raft", "remove-peer", ha, "-id=nope"}, 1, "",
			"Error removing peer: Unexpected response code: 500 (id \"nope\" was not found in the Raft configuration)\n"},
		{[]string{"operator", "raft", "remove-peer", ha}, 1, "", "Error removing peer: an address or id is required for the peer to remove\n"},
		{[]string{"operator", "raft", "remove-peer", ha, "-id=a", "-address=b"}, 1, "", "Error removing peer: cannot give both an address and id\n"},
		{[]string{"operator", "raft"}, 1, "", "Usage: minconsul operator raft <subcommand>"},
		{[]string{"operator"}, 1, "", "Usage: minconsul operator <subcommand>"},
		{[]string{"force-leave", ha, "n9"}, 0, "", ""},
		{[]string{"force-leave", ha}, 1, "", "A single node name must be specified to force leave.\n"},
	}
	for i, s := range steps {
		rc, out, errOut := runCLI(t, "", s.args...)
		if rc != s.rc || out != s.stdout || !strings.HasPrefix(errOut, s.stderr) || (s.stderr == "" && errOut != "") {
			t.Fatalf("step %d %q: rc=%d\nstdout=%q\nstderr=%q\nwant rc=%d stdout=%q stderr=%q", i, s.args, rc, out, errOut, s.rc, s.stdout, s.stderr)
		}
	}
	if len(f.left) != 1 || f.left[0] != "n9" {
		t.Fatalf("force-left %v", f.left)
	}
}

func TestSnapshot_CLI(t *testing.T) {
	archive, meta := testArchive(t)
	f := &operatorFake{archive: archive}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	ha := "-http-addr=" + hs.Listener.Addr().String()
	dir := t.TempDir()
	file := filepath.Join(dir, "b.snap")

	wantInspect := fmt.Sprintf(" ID           %s\n Size         %d\n Index        %d\n Term         %d\n Version      1\n",
		meta.ID, meta.Size, meta.Index, meta.Term) + inspectTable(t, archive)
	steps := []struct {
		args   []string
		rc     int
		stdout string
		stderr string
	}{
		{[]string{"snapshot", "save", ha, file}, 0, "Saved and verified snapshot to index 42\n", ""},
		{[]string{"snapshot", "save", ha}, 1, "", "Missing FILE argument\n"},
		{[]string{"snapshot", "save", ha, "a", "b"}, 1, "", "Too many arguments (expected 1, got 2)\n"},
		{[]string{"snapshot", "inspect", file}, 0, wantInspect, ""},
		{[]string{"snapshot", "inspect", "-format=yaml", file}, 1, "", "Error outputting enhanced snapshot data: Unknown format: yaml\n"},
		{[]string{"snapshot", "inspect", filepath.Join(dir, "missing")}, 1, "", "Error opening snapshot file: "},
		{[]string{"snapshot", "restore", ha, file}, 0, "Restored snapshot\n", ""},
		{[]string{"snapshot", "restore", ha}, 1, "", "Missing FILE argument\n"},
		{[]string{"snapshot"}, 1, "", "Usage: minconsul snapshot <subcommand>"},
	}
	for i, s := range steps {
		rc, out, errOut := runCLI(t, "", s.args...)
		if rc != s.rc || out != s.stdout || !strings.HasPrefix(errOut, s.stderr) || (s.stderr == "" && errOut != "") {
			t.Fatalf("step %d %q: rc=%d\nstdout=%q\nstderr=%q\nwant rc=%d stdout=%q stderr=%q", i, s.args, rc, out, errOut, s.rc, s.stdout, s.stderr)
		}
	}
	if !bytes.Equal(f.restored, archive) {
		t.Fatalf("restore sent %d bytes, want the %d-byte archive", len(f.restored), len(archive))
	}
	rc, out, _ := runCLI(t, "", "snapshot", "inspect", "-format=json", file)
	var js inspectOutput
	if rc != 0 || json.Unmarshal([]byte(out), &js) != nil || js.Meta.Index != meta.Index || js.Meta.ID != meta.ID {
		t.Fatalf("inspect -format=json: %d %q", rc, out)
	}

	// A download that is not a valid archive never replaces the file.
	f.mu.Lock()
	f.archive = archive[:len(archive)/2]
	f.mu.Unlock()
	rc, _, errOut := runCLI(t, "", "snapshot", "save", ha, file)
	if rc != 1 || !strings.HasPrefix(errOut, "Error verifying snapshot file: ") {
		t.Fatalf("save of a truncated archive: %d %q", rc, errOut)
	}
	if kept, err := os.ReadFile(file); err != nil || !bytes.Equal(kept, archive) {
		t.Fatalf("good backup replaced: %v", err)
	}
	if _, err := os.Stat(file + ".unverified"); !os.IsNotExist(err) {
		t.Fatalf("unverified file left behind: %v", err)
	}
}

// inspectTable is the per-type table `snapshot inspect` must print for an
// archive, computed from the stats (sizes vary with encodings) in Consul's
// layout.
func inspectTable(t *testing.T, archive []byte) string {
	t.Helper()
	_, state, err := raftstore.ReadArchive(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	stats, err := raftstore.InspectState(state)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	total := 0
	for _, s := range stats {
		counts[s.Name] = s.Count
		total += s.Sum
	}
	if counts["KVS"] != 2 || counts["Register"] != 3 || counts["Index"] == 0 {
		t.Fatalf("stats %+v", stats)
	}
	// Columns as a tabwriter pads them: widest cell plus 6.
	rows := [][3]string{{" Type", "Count", "Size"}, {" ----", "----", "----"}}
	for _, s := range stats {
		rows = append(rows, [3]string{" " + s.Name, strconv.Itoa(s.Count), byteSize(uint64(s.Sum))})
	}
	rows = append(rows, [3]string{" ----", "----", "----"}, [3]string{" Total", "", byteSize(uint64(total))})
	w0, w1 := 0, 0
	for _, r := range rows {
		w0, w1 = max(w0, len(r[0])+6), max(w1, len(r[1])+6)
	}
	var b strings.Builder
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s%-*s%s\n", w0, r[0], w1, r[1], r[2])
	}
	return b.String()
}
