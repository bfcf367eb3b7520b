package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	dockerOnce sync.Once
	dockerErr  error
)

// NeedDocker skips the test when no Docker engine answers, with the
// reason; under CI=true (where .ci/run provides an engine) it fails
// instead, so a broken CI machine never passes by skipping.
func NeedDocker(t testing.TB) {
	t.Helper()
	dockerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
			dockerErr = fmt.Errorf("%v: %s", err, firstLine(string(out)))
		}
	})
	if dockerErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but no Docker engine answers: %v", dockerErr)
	}
	t.Skipf("docker not available (set CI=true to fail instead): %v", dockerErr)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

var (
	staticMu   sync.Mutex
	staticBins = map[string]string{}
)

// StaticBinary builds a main package of this module (e.g.
// "./examples/tutorial/hello-world") with CGO_ENABLED=0, once per test
// process, so it runs in a FROM-scratch image. The file is removed when
// the process exits only by the OS temp cleaner; it is small.
func StaticBinary(t testing.TB, pkg string) string {
	t.Helper()
	staticMu.Lock()
	defer staticMu.Unlock()
	if p, ok := staticBins[pkg]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "minconsul-static")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	staticBins[pkg] = out
	return out
}
