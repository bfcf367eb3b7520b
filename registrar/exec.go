package registrar

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// Exec runs commands inside containers for the agent's Docker checks
// (DockerContainerID + Args): it is the Docker engine side of
// agent/checks.Docker, wired by cmd/minconsul. It shares nothing with the
// registrar's event session but the way to reach the engine.
type Exec struct {
	host string

	mu  sync.Mutex
	cli *client.Client
}

// NewExec is an Exec for the engine at host ("" as Config.DockerHost:
// DOCKER_HOST or the default socket). It connects on first use, so an
// agent without Docker starts fine; its Docker checks are then critical
// with the engine's error.
func NewExec(host string) *Exec { return &Exec{host: host} }

func (e *Exec) client() (*client.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cli == nil {
		cli, err := newClient(e.host)
		if err != nil {
			return nil, err
		}
		e.cli = cli
	}
	return e.cli, nil
}

// Close releases the client.
func (e *Exec) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cli != nil {
		e.cli.Close()
		e.cli = nil
	}
}

// Exec creates an exec of cmd in the container, streams its stdout and
// stderr to output until it ends, and answers its exit code.
func (e *Exec) Exec(ctx context.Context, containerID string, cmd []string, output io.Writer) (int, error) {
	cli, err := e.client()
	if err != nil {
		return 0, err
	}
	created, err := cli.ContainerExecCreate(ctx, containerID, container.ExecOptions{
		Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		if client.IsErrConnectionFailed(err) {
			// The engine went away: the next call connects (and negotiates
			// the API version) anew, as it may come back upgraded.
			e.Close()
		}
		return 0, err
	}
	hijacked, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(output, output, hijacked.Reader)
		done <- err
	}()
	select {
	case err = <-done:
		hijacked.Close()
	case <-ctx.Done():
		hijacked.Close()
		<-done
		return 0, ctx.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("reading exec output: %w", err)
	}
	// The stream ends when the process does; the engine may take a moment
	// more to record its exit code.
	for {
		st, err := cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return 0, err
		}
		if !st.Running {
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
