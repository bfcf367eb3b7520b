package checks

import (
	"context"
	"io"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Docker runs a command inside a container. Package checks declares only
// this; cmd/minconsul wires an implementation over the Docker engine API
// (the registrar's client), so the agent never imports a Docker client.
type Docker interface {
	// Exec runs cmd in the container, copies its stdout and stderr to
	// output, and answers its exit code.
	Exec(ctx context.Context, containerID string, cmd []string, output io.Writer) (exitCode int, err error)
}

// DockerExec runs Args inside a container: exit 0 passing, 1 warning,
// anything else (or an engine error) critical, as Consul's Docker checks.
// Args are exec'd as they are, never wrapped in a shell: Consul's Shell
// field only ever wrapped the long-removed Script string, so a Docker
// check's Shell is kept in its definition and has no effect on what runs.
// Output is capped at MaxOutputSize bytes (0: MaxOutput).
type DockerExec struct {
	Client         Docker
	ContainerID    string
	Args           []string
	Every, Timeout time.Duration
	MaxOutputSize  int
}

func (d *DockerExec) Interval() time.Duration { return d.Every }

func (d *DockerExec) Probe(ctx context.Context) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	out := newTail(capOr(d.MaxOutputSize))
	code, err := d.Client.Exec(ctx, d.ContainerID, d.Args, out)
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return structs.HealthCritical, timedOut(d.Timeout, out)
	case err != nil:
		return structs.HealthCritical, err.Error()
	case code == 0:
		return structs.HealthPassing, out.captured()
	case code == 1:
		return structs.HealthWarning, out.captured()
	}
	return structs.HealthCritical, out.captured()
}
