package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/testutil"
)

// Docker tests talk only to containers and networks they created. Every
// such object carries dockerLabel=<run id> and a name with the run id, and
// is removed in t.Cleanup, also when the test fails. A killed test process
// (SIGKILL, -timeout) cannot clean up; sweep its leftovers by hand with
//
//	docker ps -aq --filter label=io.minconsul.e2e | xargs -r docker rm -fv
//	docker network ls -q --filter name=mce2e | xargs -r docker network rm
//	docker images -q minconsul-e2e | xargs -r docker rmi -f
const dockerLabel = "io.minconsul.e2e"

// needDocker skips the test when no Docker daemon answers (fails it under
// CI=true).
func needDocker(t *testing.T) {
	t.Helper()
	testutil.NeedDocker(t)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// runID is a short random suffix that keeps names unique across test runs
// and concurrent CI jobs on one daemon.
func runID(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// dockerCmd runs a docker (or compose) command line and returns its
// combined output.
func dockerCmd(timeout time.Duration, env []string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out), nil
}

// mustDocker runs `docker args...` and fails the test on error.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerCmd(2*time.Minute, nil, append([]string{"docker"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// buildImage builds the release image from the repository's Dockerfile
// (FROM scratch: nothing is pulled) under a unique tag, removed at cleanup.
func buildImage(t *testing.T, id string) string {
	t.Helper()
	return buildScratchImage(t, id, "minconsul-e2e:"+id, "Dockerfile", testutil.Binary(t), "minconsul")
}

// buildScratchImage builds tag from the repository's Dockerfile at
// dockerfile with bin copied to build/<name> of the context, as `make`
// does. The context is a temp dir holding only those two files, so the
// tree's build/ is left alone. The image is removed at cleanup.
func buildScratchImage(t *testing.T, id, tag, dockerfile, bin, name string) string {
	t.Helper()
	ctxDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ctxDir, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bin, filepath.Join(ctxDir, "build", name), 0o755)
	copyFile(t, filepath.Join(testutil.RepoRoot(), dockerfile), filepath.Join(ctxDir, "Dockerfile"), 0o644)
	if _, err := dockerCmd(3*time.Minute, nil, "docker", "build", "-q", "--label", dockerLabel+"="+id, "-t", tag, ctxDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := dockerCmd(time.Minute, nil, "docker", "rmi", "-f", tag); err != nil {
			t.Errorf("remove image: %v", err)
		}
	})
	return tag
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// checkNothingLeft is registered first, so it runs after every other
// cleanup: no container or network of this run may survive the test.
func checkNothingLeft(t *testing.T, id string) {
	t.Cleanup(func() {
		for _, what := range [][]string{
			{"ps", "-aq", "--filter", "label=" + dockerLabel + "=" + id},
			{"ps", "-aq", "--filter", "name=" + id},
			{"network", "ls", "-q", "--filter", "name=" + id},
		} {
			out, err := dockerCmd(time.Minute, nil, append([]string{"docker"}, what...)...)
			if err != nil || strings.TrimSpace(out) != "" {
				t.Errorf("left behind after cleanup (docker %s): %q %v", strings.Join(what, " "), out, err)
			}
		}
	})
}

// composeCommand is `docker compose` (v2 plugin) or `docker-compose` (v1).
func composeCommand(t *testing.T) []string {
	t.Helper()
	if _, err := dockerCmd(20*time.Second, nil, "docker", "compose", "version"); err == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	t.Skip("neither `docker compose` nor docker-compose is installed")
	return nil
}

// composeProject runs compose commands on file as project (with env) and
// takes the project down at cleanup, logging its output if the test failed.
func composeProject(t *testing.T, file, project string, env []string) func(time.Duration, ...string) (string, error) {
	t.Helper()
	compose := composeCommand(t)
	dc := func(timeout time.Duration, args ...string) (string, error) {
		argv := append(append([]string{}, compose...), "-f", file, "-p", project)
		return dockerCmd(timeout, env, append(argv, args...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dc(time.Minute, "logs", "--no-color")
			t.Logf("compose logs:\n%s", out)
		}
		if _, err := dc(2*time.Minute, "down", "-v", "-t", "5"); err != nil {
			t.Errorf("compose down: %v", err)
		}
	})
	return dc
}

// containerIPs maps a container's network names to its addresses.
func containerIPs(t *testing.T, name string) map[string]string {
	t.Helper()
	out := mustDocker(t, "inspect", "-f", "{{json .NetworkSettings.Networks}}", name)
	var nets map[string]struct{ IPAddress string }
	if err := json.Unmarshal([]byte(out), &nets); err != nil {
		t.Fatalf("inspect %s: %v: %s", name, err, out)
	}
	ips := map[string]string{}
	for n, v := range nets {
		ips[n] = v.IPAddress
	}
	return ips
}

// dockerHTTP is the client for the containers' APIs: every call is
// bounded, so a hung server fails the test instead of stalling it.
var dockerHTTP = &http.Client{Timeout: 15 * time.Second}

type httpResult struct {
	status int
	body   string
	header http.Header
}

func httpCall(method, url, body string) (httpResult, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return httpResult{}, err
	}
	resp, err := dockerHTTP.Do(req)
	if err != nil {
		return httpResult{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, body: string(b), header: resp.Header}, err
}

// getJSON GETs url and decodes a 200 answer into v.
func getJSON(url string, v any) error {
	r, err := httpCall(http.MethodGet, url, "")
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, r.status, strings.TrimSpace(r.body))
	}
	return json.NewDecoder(bytes.NewReader([]byte(r.body))).Decode(v)
}

// waitCluster waits until the agent at httpAddr sees a leader, `voters` Raft
// voters and `members` alive gossip members.
func waitCluster(t *testing.T, httpAddr string, voters, members int, timeout time.Duration) {
	t.Helper()
	base := "http://" + httpAddr
	testutil.Retry(t, timeout, func() error {
		var leader string
		if err := getJSON(base+"/v1/status/leader", &leader); err != nil || leader == "" {
			return fmt.Errorf("no leader yet (%q): %v", leader, err)
		}
		var cfg struct{ Servers []struct{ Voter bool } }
		if err := getJSON(base+"/v1/operator/raft/configuration", &cfg); err != nil {
			return err
		}
		n := 0
		for _, s := range cfg.Servers {
			if s.Voter {
				n++
			}
		}
		if n != voters {
			return fmt.Errorf("%d voters, want %d", n, voters)
		}
		var ms []struct {
			Name   string
			Status int
		}
		if err := getJSON(base+"/v1/agent/members", &ms); err != nil {
			return err
		}
		alive := 0
		for _, m := range ms {
			if m.Status == 1 {
				alive++
			}
		}
		if alive != members {
			return fmt.Errorf("%d alive members, want %d: %+v", alive, members, ms)
		}
		return nil
	})
}
