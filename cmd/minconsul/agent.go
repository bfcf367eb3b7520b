package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/cmd/minconsul/wire"
	"github.com/minconsul/minconsul/config"
	"github.com/minconsul/minconsul/registrar"
)

// runningAgent is what the agent command needs from *wire.Agent.
type runningAgent interface {
	Start(ctx context.Context) error
	Shutdown() error
	Leave(ctx context.Context) error
	Reload(ctx context.Context) error
	HTTPAddr() string
	DNSAddr() string
	// ShutdownCh is closed when a client asked the agent to leave
	// (PUT /v1/agent/leave); the process then exits.
	ShutdownCh() <-chan struct{}
	// What the Docker registrar registers through.
	registrar.LocalAgent
}

// agentRunner creates the agent and supplies signals; tests replace both.
type agentRunner struct {
	newAgent func(*agent.Config, hclog.Logger) (runningAgent, error)
	signals  func() (<-chan os.Signal, func())
	// dockerPing looks for a Docker engine (-dev turns the registrar on
	// when one answers); nil never finds one.
	dockerPing func(ctx context.Context, host string) (string, error)
}

func defaultAgentRunner() agentRunner {
	return agentRunner{
		newAgent: func(cfg *agent.Config, logger hclog.Logger) (runningAgent, error) {
			return wire.New(cfg, logger)
		},
		signals: func() (<-chan os.Signal, func()) {
			ch := make(chan os.Signal, 4)
			signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			return ch, func() { signal.Stop(ch) }
		},
		dockerPing: registrar.Ping,
	}
}

// gracefulTimeout bounds the leave on the first signal, as Consul's.
const gracefulTimeout = 15 * time.Second

func (c *cli) agentCmd(args []string) int {
	loader := &config.Loader{Version: Version}
	cfg, res, err := loader.Load(args)
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprintf(c.stdout, "Usage: %s agent [options]\n\n  Starts the Consul agent and runs until an interrupt is received.\n\n%s", c.name, config.Usage())
		return 0
	}
	if err != nil {
		c.err("==> %s", err)
		return 1
	}
	level := hclog.LevelFromString(res.LogLevel)
	// An intercept logger, so /v1/agent/monitor can attach sinks to it.
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Level:      level,
		JSONFormat: res.LogJSON,
		Output:     c.stdout,
	})
	logWarnings := func(r *config.LoadResult) {
		for _, w := range r.Warnings {
			logger.Warn(w)
		}
	}
	logWarnings(res)
	cfg.SetLogLevel = func(l string) { logger.SetLevel(hclog.LevelFromString(l)) }
	loader.OnReload = logWarnings

	c.out("==> Starting Consul agent...")
	dockerOn, dockerWhy := c.dockerDecision(cfg, res.Docker)
	// Docker checks exec in their containers through the engine the
	// registrar uses (connected on first use, registrar on or off).
	dockerExec := registrar.NewExec(res.Docker.Host)
	defer dockerExec.Close()
	cfg.DockerExec = dockerExec
	a, err := c.agent.newAgent(cfg, logger)
	if err != nil {
		c.err("==> Error creating agent: %s", err)
		return 1
	}
	reg, err := newRegistrar(cfg, res.Docker, dockerOn, a, logger)
	if err != nil {
		c.err("==> Error creating the Docker registrar: %s", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs, stop := c.agent.signals()
	defer stop()
	if err := a.Start(ctx); err != nil {
		c.err("==> Error starting agent: %s", err)
		a.Shutdown()
		return 1
	}
	if reg != nil {
		if err := reg.Start(ctx); err != nil {
			c.err("==> Error starting the Docker registrar: %s", err)
			a.Shutdown()
			return 1
		}
		a = withRegistrar{runningAgent: a, reg: reg}
	}
	logger.Info("Docker registrar: " + dockerWhy)
	c.printSummary(cfg, a, dockerWhy)
	c.out("==> Consul agent running!")
	c.out("==> Log data will now stream in as it occurs:\n")

	for {
		select {
		case <-a.ShutdownCh():
			// A client asked this agent to leave; the leave already happened.
			if err := a.Shutdown(); err != nil {
				logger.Error("shutdown", "error", err)
				return 1
			}
			return 0
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				logger.Info("Caught signal", "signal", sig)
				if err := a.Reload(ctx); err != nil {
					logger.Error("Reload config failed", "error", err)
				}
				continue
			}
			return c.gracefulStop(ctx, cfg, a, logger, sig, sigs)
		}
	}
}

// gracefulStop leaves (when configured) and shuts down; a second signal
// during that exits at once, as Consul.
func (c *cli) gracefulStop(ctx context.Context, cfg *agent.Config, a runningAgent, logger hclog.Logger,
	sig os.Signal, sigs <-chan os.Signal) int {
	logger.Info("Caught signal", "signal", sig)
	// Consul: SIGTERM leaves when leave_on_terminate; SIGINT leaves unless
	// skip_leave_on_interrupt, which defaults to true on servers.
	leave := cfg.LeaveOnTerminate
	if sig == os.Interrupt {
		leave = !cfg.SkipLeaveOnInterrupt
	}
	done := make(chan int, 1)
	go func() {
		rc := 0
		if leave {
			logger.Info("Gracefully shutting down agent...")
			lctx, cancel := context.WithTimeout(ctx, gracefulTimeout)
			if err := a.Leave(lctx); err != nil {
				logger.Error("Error on leave", "error", err)
				rc = 1
			}
			cancel()
		}
		if err := a.Shutdown(); err != nil {
			logger.Error("Error on shutdown", "error", err)
			rc = 1
		}
		done <- rc
	}()
	for {
		select {
		case rc := <-done:
			return rc
		case s := <-sigs:
			if s == syscall.SIGHUP {
				continue
			}
			logger.Warn("Caught second signal, exiting immediately", "signal", s)
			return 1
		}
	}
}

func (c *cli) printSummary(cfg *agent.Config, a runningAgent, docker string) {
	line := func(k, format string, args ...any) {
		c.out("%22s: %s", k, fmt.Sprintf(format, args...))
	}
	line("Version", "'%s'", Version)
	line("Node ID", "'%s'", cfg.NodeID)
	line("Node name", "'%s'", cfg.NodeName)
	line("Datacenter", "'%s'", cfg.Datacenter)
	line("Server", "%t (Bootstrap: %t)", cfg.Server, cfg.Bootstrap)
	line("Client Addr", "(HTTP: %s, DNS: %s)", a.HTTPAddr(), a.DNSAddr())
	line("Cluster Addr", "%s (LAN: %d)", cfg.AdvertiseAddr, cfg.SerfLANPort)
	line("Web UI", "%t", cfg.UIEnabled)
	line("Docker registrar", "%s", docker)
	c.out("")
}
