package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/config"
	"github.com/minconsul/minconsul/registrar"
)

// dockerProbeTimeout bounds -dev's look for a Docker engine at start.
const dockerProbeTimeout = 2 * time.Second

// dockerDecision says whether the agent runs the registrar and why, for
// the banner and the log: -docker decides; unset, -dev turns it on when
// an engine answers.
func (c *cli) dockerDecision(cfg *agent.Config, d config.Docker) (on bool, why string) {
	rc := registrar.Config{DockerHost: d.Host}
	endpoint := rc.Endpoint()
	switch {
	case d.Enabled != nil && *d.Enabled:
		return true, endpoint + " (-docker)"
	case d.Enabled != nil:
		return false, "off (-docker=false)"
	case !cfg.Dev || c.agent.dockerPing == nil:
		return false, "off (-docker turns it on)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerProbeTimeout)
	defer cancel()
	version, err := c.agent.dockerPing(ctx, d.Host)
	if err != nil {
		return false, fmt.Sprintf("off (no Docker engine answers at %s)", endpoint)
	}
	return true, fmt.Sprintf("%s (API %s; on by itself with -dev, -docker=false turns it off)", endpoint, version)
}

// registrarConfig maps the agent's settings onto the registrar's: IDs
// start with the node name, and ports published on all interfaces get the
// node's advertise address.
func registrarConfig(cfg *agent.Config, d config.Docker) registrar.Config {
	return registrar.Config{
		DockerHost: d.Host, Hostname: cfg.NodeName, AdvertiseAddr: cfg.AdvertiseAddr,
		HostIP: d.HostIP, Internal: d.Internal, Explicit: d.Explicit, UseIPFromLabel: d.UseIPFromLabel,
		Tags: d.Tags, DeregisterOnSuccess: d.DeregisterOnSuccess, Cleanup: d.Cleanup, Resync: d.Resync,
		Labels: d.Labels,
	}
}

// withRegistrar stops the registrar before the agent it registers into.
type withRegistrar struct {
	runningAgent
	reg *registrar.Registrar
}

func (w withRegistrar) Shutdown() error {
	w.reg.Shutdown()
	return w.runningAgent.Shutdown()
}

// registrarSection is the Registrar part of /v1/agent/self.
type registrarSection struct {
	Enabled bool
	registrar.Status
}

// newRegistrar builds the agent's registrar (nil when off) and hooks its
// status into /v1/agent/self. Call it after the agent is created and
// before it starts: the hook is read by HTTP requests once it runs.
func newRegistrar(cfg *agent.Config, d config.Docker, on bool, a runningAgent, logger hclog.Logger) (*registrar.Registrar, error) {
	var reg *registrar.Registrar
	if on {
		var err error
		if reg, err = registrar.New(registrarConfig(cfg, d), registrar.Local(a), logger.Named("registrar")); err != nil {
			return nil, err
		}
	}
	if cfg.SelfSections == nil {
		cfg.SelfSections = map[string]func() any{}
	}
	cfg.SelfSections["Registrar"] = func() any {
		if reg == nil {
			return registrarSection{}
		}
		return registrarSection{Enabled: true, Status: reg.Status()}
	}
	return reg, nil
}
