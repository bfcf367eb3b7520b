// Package testutil holds what tests (and the benchmark command) share
// beyond one package: a logger into t.Log, deadline retries, the built
// binary, agent processes whose ports are bound on :0 and read back from
// their log, and clusters of such processes. It imports nothing of
// minconsul, so every package's own tests can use it; in-process agents
// are in testutil/testagent.
package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Retry calls f until it returns nil or the deadline passes.
func Retry(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline above
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/minconsul once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "minconsul-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath, buildErr = BuildBinary(context.Background(), dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// BuildBinary builds cmd/minconsul (static, as the image wants it) into
// dir and returns its path.
func BuildBinary(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "minconsul")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/minconsul")
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/minconsul: %v\n%s", err, b)
	}
	return out, nil
}

// RepoRoot is the module root (where go.mod lives).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
