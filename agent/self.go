package agent

import (
	"context"
	"runtime"
	"strconv"
	"time"

	"github.com/minconsul/minconsul/agent/checks"
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

// Self is /v1/agent/self.
func (a *Agent) Self() map[string]any {
	stats := map[string]any{
		"agent": map[string]string{"check_monitors": "0", "check_ttls": strconv.Itoa(a.local.TTLChecks()),
			"checks": strconv.Itoa(len(a.Checks())), "services": strconv.Itoa(len(a.Services()))},
		"build":   map[string]string{"revision": Revision, "version": a.version(), "prerelease": ""},
		"runtime": map[string]string{"arch": runtime.GOARCH, "os": runtime.GOOS, "version": runtime.Version(), "goroutines": strconv.Itoa(runtime.NumGoroutine()), "max_procs": strconv.Itoa(runtime.GOMAXPROCS(0)), "cpu_count": strconv.Itoa(runtime.NumCPU())},
		"consul": map[string]string{"server": strconv.FormatBool(a.cfg.Server), "leader": strconv.FormatBool(a.store != nil && a.store.IsLeader()),
			"leader_addr": a.leaderAddr(), "bootstrap": strconv.FormatBool(a.cfg.Bootstrap), "known_datacenters": "1"},
	}
	if a.store != nil {
		stats["raft"] = a.store.Stats()
	}
	a.addStats(stats)
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
			"HTTPAddrs": []string{httpAddrURL(a.cfg.HTTPAddr)}, "DNSAddrs": []string{"tcp://" + a.cfg.DNSAddr, "udp://" + a.cfg.DNSAddr},
			"UIConfig": map[string]any{"Enabled": a.cfg.UIEnabled}, "EnableScriptChecks": a.cfg.EnableScriptChecks,
			"RaftMultiplier": a.cfg.RaftMultiplier, "Uptime": time.Since(a.started).Round(time.Second).String(),
		},
		"Coord":  a.members.Coordinate(),
		"Member": a.members.Member(),
		"Stats":  stats,
		"Meta":   a.local.NodeMeta(),
	}
	self["DebugConfig"].(map[string]any)["CheckOutputMaxSize"] = checks.OutputCap(a.cfg.CheckOutputMaxSize, 0)
	for k, v := range a.debugConfig() {
		self["DebugConfig"].(map[string]any)[k] = v
	}
	for k, f := range a.cfg.SelfSections {
		self[k] = f()
	}
	return self
}

func (a *Agent) leaderAddr() string {
	ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
	defer cancel()
	res, err := a.backend.Leader(ctx, &structs.DCSpecificRequest{})
	if err != nil {
		return ""
	}
	return res.Value
}

// debugConfig is more of the runtime configuration under Consul's
// DebugConfig names (secrets shown as "hidden", as Consul does).
func (a *Agent) debugConfig() map[string]any {
	c := a.cfg
	encrypt := ""
	if len(c.EncryptKey) > 0 {
		encrypt = "hidden"
	}
	kvMax := c.KVMaxValueSize
	if kvMax == 0 {
		kvMax = structs.MaxKVValueSize
	}
	return map[string]any{
		"ACLsEnabled": false, "EncryptKey": encrypt, "EncryptVerifyIncoming": !c.EncryptPlainIncoming, "EncryptVerifyOutgoing": !c.EncryptPlainOutgoing,
		"KVMaxValueSize": kvMax, "ServerPort": a.ServerPort(), "SerfPortLAN": c.SerfLANPort, "SerfBindAddrLAN": c.BindAddr,
		"SerfAdvertiseAddrLAN": c.AdvertiseAddr, "RetryJoinLAN": nonNil(c.RetryJoin), "StartJoinAddrsLAN": nonNil(c.StartJoin),
		"RetryJoinIntervalLAN": c.RetryInterval.String(), "ReconnectTimeoutLAN": c.ReconnectTimeout.String(),
		"LeaveOnTerm": c.LeaveOnTerminate, "SkipLeaveOnInt": c.SkipLeaveOnInterrupt, "NodeMeta": a.local.NodeMeta(),
		"DNSNodeTTL": c.DNS.NodeTTL.String(), "DNSOnlyPassing": c.DNS.OnlyPassing, "DNSAllowStale": c.DNS.AllowStale,
		"DNSMaxStale": c.DNS.MaxStale.String(), "DNSUDPAnswerLimit": c.DNS.UDPAnswerLimit, "DNSEnableTruncate": c.DNS.EnableTruncate,
		"DNSRecursors": nonNil(c.DNS.Recursors), "Revision": Revision, "Version": a.version(),
		"PrimaryDatacenter": c.Datacenter, "TLS": map[string]any{"Defaults": map[string]any{"VerifyIncoming": false, "VerifyOutgoing": false}},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
