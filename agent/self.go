package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// Revision is the source revision reported by /v1/agent/self; cmd may set
// it at build time through Config.Version.
const Revision = "minconsul"

func (a *Agent) version() string {
	if a.cfg.Version != "" {
		return a.cfg.Version
	}
	return "1.20.0"
}

// member describes this agent as a gossip member.
func (a *Agent) member() structs.AgentMember {
	role := "node"
	if a.cfg.Server {
		role = "consul"
	}
	tags := map[string]string{
		"role": role, "dc": a.cfg.Datacenter, "id": a.cfg.NodeID, "build": a.version() + ":" + Revision,
		"vsn": "2", "vsn_min": "2", "vsn_max": "3", "segment": "",
	}
	if a.cfg.Server {
		tags["port"] = strconv.Itoa(a.raftPort())
		tags["expect"] = strconv.Itoa(a.cfg.BootstrapExpect)
		if a.cfg.Bootstrap || a.cfg.Dev {
			tags["bootstrap"] = "1"
		}
		tags["raft_vsn"] = "3"
	}
	return structs.AgentMember{
		Name: a.cfg.NodeName, Addr: a.cfg.AdvertiseAddr, Port: uint16(a.cfg.SerfLANPort), Tags: tags,
		Status: 1, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}

func (a *Agent) raftPort() int {
	return a.serverPort()
}

// Self is /v1/agent/self.
func (a *Agent) Self() map[string]any {
	stats := map[string]any{
		"agent": map[string]string{"check_monitors": "0", "check_ttls": strconv.Itoa(a.countTTL()),
			"checks": strconv.Itoa(len(a.Checks())), "services": strconv.Itoa(len(a.Services()))},
		"build":   map[string]string{"revision": Revision, "version": a.version(), "prerelease": ""},
		"runtime": map[string]string{"arch": runtime.GOARCH, "os": runtime.GOOS, "version": runtime.Version(), "goroutines": strconv.Itoa(runtime.NumGoroutine()), "max_procs": strconv.Itoa(runtime.GOMAXPROCS(0)), "cpu_count": strconv.Itoa(runtime.NumCPU())},
		"consul": map[string]string{"server": strconv.FormatBool(a.cfg.Server), "leader": strconv.FormatBool(a.store != nil && a.store.IsLeader()),
			"leader_addr": a.leaderAddr(), "bootstrap": strconv.FormatBool(a.cfg.Bootstrap), "known_datacenters": "1"},
	}
	if a.store != nil {
		stats["raft"] = a.store.Stats()
	}
	self := map[string]any{
		"Config": map[string]any{
			"Datacenter": a.cfg.Datacenter, "PrimaryDatacenter": a.cfg.Datacenter, "NodeName": a.cfg.NodeName,
			"NodeID": a.cfg.NodeID, "Revision": Revision, "Server": a.cfg.Server, "Version": a.version(),
			"BuildDate": "", "Partition": "",
		},
		"DebugConfig": map[string]any{
			"Datacenter": a.cfg.Datacenter, "NodeName": a.cfg.NodeName, "NodeID": a.cfg.NodeID,
			"DataDir": a.cfg.DataDir, "DNSDomain": a.cfg.Domain, "ServerMode": a.cfg.Server,
			"Bootstrap": a.cfg.Bootstrap, "BootstrapExpect": a.cfg.BootstrapExpect, "DevMode": a.cfg.Dev,
			"AdvertiseAddrLAN": a.cfg.AdvertiseAddr, "BindAddr": a.cfg.BindAddr,
			"HTTPAddrs": []string{"tcp://" + a.HTTPAddr()}, "DNSAddrs": []string{"tcp://" + a.DNSAddr(), "udp://" + a.DNSAddr()},
			"UIConfig": map[string]any{"Enabled": a.cfg.UIEnabled}, "EnableScriptChecks": a.cfg.EnableScriptChecks,
			"RaftMultiplier": a.cfg.RaftMultiplier, "Uptime": time.Since(a.started).Round(time.Second).String(),
		},
		"Coord":  nil,
		"Member": a.member(),
		"Stats":  stats,
		"Meta":   map[string]string{"consul-network-segment": ""},
	}
	for k, f := range a.cfg.SelfSections {
		self[k] = f()
	}
	return self
}

func (a *Agent) leaderAddr() string {
	if a.store != nil {
		return a.store.Leader()
	}
	if a.remote != nil {
		return a.remote.Leader()
	}
	return ""
}

func (a *Agent) countTTL() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.checks {
		if c.ttl > 0 {
			n++
		}
	}
	return n
}

// Leave leaves the cluster gracefully and then asks the process to stop
// (ShutdownCh). A leading server first removes itself from Raft so the
// others elect a new leader at once; any other server is removed by the
// leader when gossip reports the leave.
func (a *Agent) Leave(ctx context.Context) error {
	a.leaveOnce.Do(func() {
		a.logger.Info("leaving the cluster")
		if a.store != nil && a.store.IsLeader() {
			if servers, err := a.store.Servers(); err == nil && len(servers) > 1 {
				if err := a.store.RemoveServer(a.cfg.NodeID); err != nil {
					a.logger.Warn("leader could not remove itself from Raft", "error", err)
				}
			}
		}
		if a.serf != nil {
			if err := a.serf.Leave(); err != nil {
				a.leaveErr = err
				a.logger.Warn("gossip leave failed", "error", err)
			}
		}
		if a.store != nil && a.serf != nil {
			a.waitRemovedFromRaft(5 * time.Second)
		}
		close(a.shutdownCh)
	})
	return a.leaveErr
}

// waitRemovedFromRaft waits (bounded) until this server is out of the
// configuration it knows, so a graceful leave never costs the quorum.
func (a *Agent) waitRemovedFromRaft(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		servers, err := a.store.Servers()
		if err != nil {
			return
		}
		in := false
		for _, s := range servers {
			in = in || s.ID == a.cfg.NodeID
		}
		if !in || len(servers) <= 1 {
			return
		}
		time.Sleep(50 * time.Millisecond) // bounded poll while the leader commits our removal
	}
}

// Reload re-reads the configuration and applies what can change at run
// time: config-file services and checks, and the log level.
func (a *Agent) Reload(ctx context.Context) error {
	if a.cfg.Reload == nil {
		return errors.New("reload is not available: the agent was not started from config files or flags")
	}
	next, err := a.cfg.Reload()
	if err != nil {
		return fmt.Errorf("Failed reloading config: %w", err)
	}
	if next.LogLevel != "" && a.cfg.SetLogLevel != nil {
		a.cfg.SetLogLevel(next.LogLevel)
	}
	// Validate everything before touching local state: a bad file changes nothing.
	for _, def := range next.Services {
		if _, _, err := a.validateService(def); err != nil {
			return fmt.Errorf("Failed reloading services: %w", err)
		}
	}
	a.mu.Lock()
	for id, s := range a.services {
		if s.fromFile {
			delete(a.services, id)
			for cid, c := range a.checks {
				if c.hc.ServiceID == id {
					a.removeCheckLocked(cid)
				}
			}
		}
	}
	for id, c := range a.checks {
		if c.fromFile {
			a.removeCheckLocked(id)
		}
	}
	a.mu.Unlock()
	for _, def := range next.Services {
		if err := a.serviceRegister(ctx, def, false, true, true); err != nil {
			return fmt.Errorf("Failed reloading services: %w", err)
		}
	}
	for _, def := range next.Checks {
		if err := a.checkRegister(ctx, def, true, true); err != nil {
			return fmt.Errorf("Failed reloading checks: %w", err)
		}
	}
	a.cfg.Services, a.cfg.Checks = next.Services, next.Checks
	a.syncNow(ctx)
	a.logger.Info("configuration reloaded")
	return nil
}
