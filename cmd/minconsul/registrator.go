package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/registrar"
)

// registratorFlags are gliderlabs/registrator's options, same names and
// units (seconds for -resync and -ttl, milliseconds for -retry-interval),
// plus -label (a scope filter) and -log-level.
type registratorFlags struct {
	ip, tags, useIPFromLabel, deregister, logLevel string
	internal, explicit, cleanup                    bool
	ttl, ttlRefresh, resync                        int
	retryAttempts, retryInterval                   int
	labels                                         strSliceFlag
}

type strSliceFlag []string

func (s *strSliceFlag) String() string     { return strings.Join(*s, ",") }
func (s *strSliceFlag) Set(v string) error { *s = append(*s, v); return nil }

func (f *registratorFlags) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("registrator", flag.ContinueOnError)
	fs.StringVar(&f.ip, "ip", "", "IP for ports mapped to the host")
	fs.BoolVar(&f.internal, "internal", false, "Use internal ports instead of published ones")
	fs.BoolVar(&f.explicit, "explicit", false, "Only register containers which have SERVICE_NAME label set")
	fs.StringVar(&f.useIPFromLabel, "useIpFromLabel", "", "Use IP which is stored in a label assigned to the container")
	fs.IntVar(&f.ttlRefresh, "ttl-refresh", 0, "Frequency with which service TTLs are refreshed (accepted; Consul has no service TTLs)")
	fs.IntVar(&f.ttl, "ttl", 0, "TTL for services (accepted; Consul has no service TTLs)")
	fs.StringVar(&f.tags, "tags", "", "Append tags for all registered services (supports Go template)")
	fs.IntVar(&f.resync, "resync", 0, "Frequency (seconds) with which services are resynchronized")
	fs.StringVar(&f.deregister, "deregister", "always", "Deregister exited services \"always\" or \"on-success\"")
	fs.IntVar(&f.retryAttempts, "retry-attempts", 0, "Max retry attempts to establish a connection with the backend. Use -1 for infinite retries")
	fs.IntVar(&f.retryInterval, "retry-interval", 2000, "Interval (in millisecond) between retry-attempts.")
	fs.BoolVar(&f.cleanup, "cleanup", false, "Remove dangling services")
	fs.Var(&f.labels, "label", "Only register containers with this label (key or key=value); repeatable (minconsul)")
	fs.StringVar(&f.logLevel, "log-level", "info", "Log level (trace, debug, info, warn, error) (minconsul)")
	return fs
}

func (f *registratorFlags) validate() error {
	switch {
	case (f.ttl == 0) != (f.ttlRefresh == 0):
		return errors.New("-ttl and -ttl-refresh must be specified together or not at all")
	case f.ttl > 0 && f.ttl <= f.ttlRefresh:
		return errors.New("-ttl must be greater than -ttl-refresh")
	case f.retryInterval <= 0:
		return errors.New("-retry-interval must be greater than 0")
	case f.deregister != "always" && f.deregister != "on-success":
		return errors.New("-deregister must be \"always\" or \"on-success\"")
	case f.ip != "" && net.ParseIP(f.ip) == nil:
		return fmt.Errorf("-ip %q is not an IP address", f.ip)
	case f.resync < 0:
		return errors.New("-resync must be 0 or more seconds")
	}
	return nil
}

// registratorDockerHost is registrator's default: DOCKER_HOST, else the
// socket its image expected mounted at /tmp/docker.sock, else the usual
// one, so compose files written for registrator keep working.
func registratorDockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	if _, err := os.Stat("/tmp/docker.sock"); err == nil {
		return "unix:///tmp/docker.sock"
	}
	return registrar.DefaultDockerHost
}

// registratorCmd is `minconsul registrator [options] consul://HOST:PORT`:
// registrator's command line, registering through the /v1/agent API of
// any Consul-compatible agent. It runs until SIGINT or SIGTERM and never
// exits because Docker went away.
func (c *cli) registratorCmd(args []string) int {
	f := &registratorFlags{}
	fs := f.flagSet()
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: %s registrator [options] <registry URI>\n\n  consul://HOST:PORT, consul-unix:///path.sock or consul-tls://HOST:PORT\n\n", c.name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		if fs.NArg() == 0 {
			c.err("Missing required argument for registry URI.")
		} else {
			c.err("Extra unparsed arguments: %s\nOptions should come before the registry URI argument.", strings.Join(fs.Args()[1:], " "))
		}
		fs.Usage()
		return 2
	}
	if err := f.validate(); err != nil {
		c.err("%s", err)
		return 2
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "registrator", Level: hclog.LevelFromString(f.logLevel), Output: c.stderr})
	if f.ttl > 0 {
		logger.Warn("-ttl and -ttl-refresh are ignored: Consul services have no TTL (registrator ignored them for Consul too)")
	}
	agent, err := registrar.NewConsulAgent(fs.Arg(0))
	if err != nil {
		c.err("%s", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pingBackend(ctx, agent, f, logger); err != nil {
		logger.Error("cannot reach the agent", "address", agent.Address(), "error", err)
		return 1
	}
	host, _ := os.Hostname()
	cfg := registrar.Config{
		DockerHost: registratorDockerHost(), Hostname: host, HostIP: f.ip, Internal: f.internal,
		Explicit: f.explicit, UseIPFromLabel: f.useIPFromLabel, Tags: f.tags,
		DeregisterOnSuccess: f.deregister == "on-success", Cleanup: f.cleanup,
		Resync: time.Duration(f.resync) * time.Second, Labels: f.labels,
		AdvertiseAddr: hostAddress(ctx, host, agent, logger),
	}
	reg, err := registrar.New(cfg, agent, logger)
	if err != nil {
		c.err("%s", err)
		return 2
	}
	if err := reg.Start(ctx); err != nil {
		c.err("%s", err)
		return 1
	}
	<-ctx.Done()
	logger.Info("stopping; registrations stay with the agent")
	reg.Shutdown()
	return 0
}

// pingBackend is registrator's start-up loop: -retry-attempts more tries
// (-1: forever), -retry-interval ms apart.
func pingBackend(ctx context.Context, a *registrar.ConsulAgent, f *registratorFlags, logger hclog.Logger) error {
	for attempt := 0; ; attempt++ {
		logger.Info("connecting to backend", "attempt", attempt, "max", f.retryAttempts, "address", a.Address())
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		leader, err := a.Ping(pctx)
		cancel()
		if err == nil {
			logger.Info("consul: current leader", "leader", leader)
			return nil
		}
		if f.retryAttempts != -1 && attempt >= f.retryAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(f.retryInterval) * time.Millisecond):
		}
	}
}

// hostAddress is the address for ports published on all interfaces: this
// host's name resolved (as registrator did) when that gives a routable
// address, else the agent's own address.
func hostAddress(ctx context.Context, host string, a *registrar.ConsulAgent, logger hclog.Logger) string {
	if ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host); err == nil {
		for _, v4 := range []bool{true, false} {
			for _, ip := range ips {
				if (ip.To4() != nil) == v4 && !ip.IsLoopback() && !ip.IsUnspecified() {
					return ip.String()
				}
			}
		}
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addr, err := a.AdvertiseAddr(actx)
	if err != nil {
		logger.Warn("no address for ports published on all interfaces; the agent's node address applies", "error", err)
		return ""
	}
	return addr
}
