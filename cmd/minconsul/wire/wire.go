// Package wire starts one minconsul agent with its front ends, in order,
// and stops them in reverse: it binds the HTTP and DNS ports (port 0 picks
// one), starts the agent core (node ID, server port, Raft, gossip, local
// state, anti-entropy), then serves the HTTP API (with the web UI) and DNS
// through the core's backend, and logs `agent started` with every bound
// address. The Docker registrar is started by the agent command after it
// (cmd/minconsul/registrar.go), as a client of the agent's local API.
//
// The minconsul command runs it; tests (testutil/testagent) and the
// benchmark command embed it, so they run exactly what the binary runs.
package wire

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/dnsserver"
	"github.com/minconsul/minconsul/httpapi"
	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/ui"
)

// Agent is a running agent: the core and its front ends.
type Agent struct {
	*agent.Agent
	cfg    *agent.Config
	logger hclog.Logger

	httpLn  net.Listener
	dnsUDP  net.PacketConn
	dnsTCP  net.Listener
	http    *httpapi.Server
	metrics *telemetry.Metrics
	dns     *dnsserver.Server
	wg      sync.WaitGroup

	shutdownOnce sync.Once
	shutdownErr  error
}

// New validates the configuration and builds the agent; Start runs it.
func New(cfg *agent.Config, logger hclog.Logger) (*Agent, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	// One metrics instance per agent, handed to every part that records.
	met, err := telemetry.New(cfg.Telemetry)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	cfg.Metrics = met
	core, err := agent.New(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &Agent{Agent: core, cfg: cfg, logger: logger, metrics: met}, nil
}

// Start binds the client ports, starts the core and serves. On error
// everything started is stopped again.
func (a *Agent) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			a.Shutdown()
		}
	}()
	if a.httpLn, err = listenHTTP(a.cfg.HTTPAddr, a.cfg.UnixSockets); err != nil {
		return err
	}
	if err := a.listenDNS(); err != nil {
		return err
	}
	// The core reports where its API and DNS listen (/v1/agent/self).
	a.cfg.HTTPAddr, a.cfg.DNSAddr = a.HTTPAddr(), a.DNSAddr()
	a.metrics.Start()
	if err := a.Agent.Start(ctx); err != nil {
		return err
	}
	// /v1/agent/monitor attaches to the logger when it takes sinks (the
	// binary's and the tests' loggers do).
	var logs httpapi.LogSinks
	if il, ok := a.logger.(hclog.InterceptLogger); ok {
		logs = il
	}
	a.http = httpapi.New(httpapi.Config{Datacenter: a.cfg.Datacenter, NodeName: a.cfg.NodeName, UIEnabled: a.cfg.UIEnabled, UI: ui.New(),
		Events: a.Agent, Metrics: a.metrics, Logs: logs, Coordinates: a.Agent,
		KVMaxValueSize: a.cfg.KVMaxValueSize, Keyring: a.Agent, TxnMaxReqLen: a.cfg.TxnMaxReqLen},
		a.Backend(), a.Agent, a.logger.Named("http"))
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(a.httpLn); err != nil {
			a.logger.Error("http server stopped", "error", err)
		}
	}()
	if a.dns, err = dnsserver.New(dnsConfig(a.cfg), a.Backend(), a.logger.Named("dns")); err != nil {
		return err
	}
	if err := a.dns.Start(a.dnsUDP, a.dnsTCP); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	a.logger.Info("agent started", "node", a.cfg.NodeName, "datacenter", a.cfg.Datacenter,
		"http", a.HTTPAddr(), "dns", a.DNSAddr(), "server_port", a.ServerPort(), "serf_lan", a.SerfAddr(), "server", a.cfg.Server)
	return nil
}

// listenDNS binds UDP and TCP on one port. With port 0 the kernel picks
// the UDP port, which may be taken on TCP: then try another.
func (a *Agent) listenDNS() error {
	_, port, _ := net.SplitHostPort(a.cfg.DNSAddr)
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", a.cfg.DNSAddr)
		if err != nil {
			return fmt.Errorf("dns udp listen %s: %w", a.cfg.DNSAddr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			a.dnsUDP, a.dnsTCP = pc, ln
			return nil
		}
		pc.Close()
		if port != "0" || attempt == 20 {
			return fmt.Errorf("dns tcp listen %s: %w", pc.LocalAddr(), err)
		}
	}
}

func dnsConfig(cfg *agent.Config) dnsserver.Config {
	d := cfg.DNS
	return dnsserver.Config{
		Domain: cfg.Domain, Datacenter: cfg.Datacenter, NodeName: cfg.NodeName,
		NodeTTL: d.NodeTTL, ServiceTTL: d.ServiceTTL, OnlyPassing: d.OnlyPassing, AllowStale: d.AllowStale,
		UDPAnswerLimit: d.UDPAnswerLimit, EnableTruncate: d.EnableTruncate,
		Recursors: d.Recursors, RecursorTimeout: d.RecursorTimeout, Metrics: cfg.Metrics,
	}
}

// HTTPAddr is the bound HTTP address: host:port, or unix:///path for a
// socket (the form consul/api clients and -http-addr take).
func (a *Agent) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	if a.httpLn.Addr().Network() == "unix" {
		return unixPrefix + a.httpLn.Addr().String()
	}
	return a.httpLn.Addr().String()
}

// DNSAddr is the bound DNS address (host:port, UDP and TCP).
func (a *Agent) DNSAddr() string {
	if a.dnsUDP == nil {
		return ""
	}
	return a.dnsUDP.LocalAddr().String()
}

// Shutdown stops the front ends (answering blocked queries at once), then
// the core. Idempotent.
func (a *Agent) Shutdown() error {
	a.shutdownOnce.Do(func() {
		if a.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if err := a.http.Shutdown(ctx); err != nil {
				a.logger.Debug("http shutdown", "error", err)
			}
			cancel()
		} else if a.httpLn != nil {
			a.httpLn.Close()
		}
		if a.dns != nil {
			a.dns.Shutdown()
		} else {
			if a.dnsUDP != nil {
				a.dnsUDP.Close()
			}
			if a.dnsTCP != nil {
				a.dnsTCP.Close()
			}
		}
		a.shutdownErr = a.Agent.Shutdown()
		a.wg.Wait()
		a.metrics.Stop()
	})
	return a.shutdownErr
}
