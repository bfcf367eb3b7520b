package config

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/agent"
	"github.com/minconsul/minconsul/structs"
)

var (
	reBasicName   = regexp.MustCompile(`^[a-z0-9_-]+$`)
	reInvalidDNS  = regexp.MustCompile(`[^A-Za-z0-9\-]+`)
	reUUID        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	maxRaftMultip = 10
)

// build turns the merged sources into the agent's configuration and
// validates it; messages follow Consul's where Consul has one.
func (l *Loader) build(r *rawConfig, dev bool, warn func(string)) (*agent.Config, error) {
	if err := checkSecurity(&r.Security); err != nil {
		return nil, err
	}
	cfg := &agent.Config{
		NodeName:           *r.NodeName,
		Dev:                dev,
		Server:             *r.Server,
		Bootstrap:          *r.Bootstrap,
		BootstrapExpect:    *r.BootstrapExpect,
		StartJoin:          r.StartJoin,
		RetryJoin:          r.RetryJoin,
		RaftMultiplier:     *r.RaftMultiplier,
		EnableScriptChecks: *r.EnableScriptChecks,
		Services:           r.Services,
		Checks:             r.Checks,
		ServerPort:         *r.ServerPort,
		SerfLANPort:        *r.SerfLANPort,
		// The critical-service reaper's timings are Consul's, not keys.
		CheckReapInterval:  30 * time.Second,
		CheckDeregisterMin: time.Minute,
		CheckMinInterval:   time.Second,
	}
	if r.CheckOutputMaxSize != nil {
		if *r.CheckOutputMaxSize < 1 {
			return nil, fmt.Errorf("check_output_max_size must be positive, to discard check output use the discard_check_output flag")
		}
		cfg.CheckOutputMaxSize = *r.CheckOutputMaxSize
	}
	if r.CheckUpdateInterval != nil {
		if *r.CheckUpdateInterval < 0 {
			return nil, fmt.Errorf("check_update_interval cannot be negative")
		}
		cfg.CheckUpdateInterval = *r.CheckUpdateInterval
	}
	// Unlike Consul, the UI is on unless turned off: the tutorial's
	// "open :8500/ui/" should work with no extra flag. As Consul,
	// ui_config.enabled (or -ui, or -dev) wins over the deprecated "ui".
	cfg.UIEnabled = r.UI == nil || *r.UI
	if r.UIEnabled != nil {
		cfg.UIEnabled = *r.UIEnabled
	}
	if r.TxnMaxReqLen != nil {
		cfg.TxnMaxReqLen = int64(*r.TxnMaxReqLen)
	}
	if r.DataDir != nil {
		cfg.DataDir = *r.DataDir
	}
	if len(r.NodeMeta) > 0 || len(r.NodeMetaFlags) > 0 {
		cfg.NodeMeta = map[string]string{}
		for k, v := range r.NodeMeta {
			cfg.NodeMeta[k] = v
		}
		for _, kv := range r.NodeMetaFlags {
			k, v, _ := strings.Cut(kv, ":")
			cfg.NodeMeta[k] = v
		}
		if err := structs.ValidateMeta(cfg.NodeMeta, false); err != nil {
			return nil, fmt.Errorf("node_meta invalid: %v", err)
		}
	}
	if r.KVMaxValueSize != nil {
		cfg.KVMaxValueSize = *r.KVMaxValueSize
	}
	if r.Security.Encrypt != nil {
		cfg.EncryptKey, _ = structs.DecodeGossipKey(*r.Security.Encrypt) // checked by checkSecurity
	}
	cfg.EncryptPlainIncoming = r.Security.EncryptVerifyIncoming != nil && !*r.Security.EncryptVerifyIncoming
	cfg.EncryptPlainOutgoing = r.Security.EncryptVerifyOutgoing != nil && !*r.Security.EncryptVerifyOutgoing

	// Identity.
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("node_name cannot be empty")
	}
	if reInvalidDNS.MatchString(cfg.NodeName) {
		warn(fmt.Sprintf("Node name %q will not be discoverable via DNS due to invalid characters. Valid characters include all alpha-numerics and dashes.", cfg.NodeName))
	} else if len(cfg.NodeName) > 63 {
		warn(fmt.Sprintf("Node name %q will not be discoverable via DNS due to it being too long. Valid lengths are between 1 and 63 bytes.", cfg.NodeName))
	}
	if r.NodeID != nil && *r.NodeID != "" {
		id := strings.ToLower(strings.TrimSpace(*r.NodeID))
		if !reUUID.MatchString(id) {
			return nil, fmt.Errorf("node_id: %q is not a valid UUID", *r.NodeID)
		}
		cfg.NodeID = id
	}
	cfg.Datacenter = strings.ToLower(*r.Datacenter)
	if cfg.Datacenter == "" {
		return nil, fmt.Errorf("datacenter cannot be empty")
	}
	if !reBasicName.MatchString(cfg.Datacenter) {
		return nil, fmt.Errorf("datacenter can only contain lowercase alphanumeric, - or _ characters. received: %q", cfg.Datacenter)
	}
	cfg.Domain = strings.ToLower(strings.TrimSpace(*r.Domain))
	cfg.Domain = strings.TrimPrefix(cfg.Domain, ".")
	if cfg.Domain == "" || cfg.Domain == "." {
		return nil, fmt.Errorf("domain cannot be empty")
	}
	if !strings.HasSuffix(cfg.Domain, ".") {
		cfg.Domain += "."
	}

	// Server mode and bootstrapping.
	switch {
	case cfg.Bootstrap && !cfg.Server:
		return nil, fmt.Errorf("'bootstrap = true' requires 'server = true'")
	case cfg.BootstrapExpect < 0:
		return nil, fmt.Errorf("bootstrap_expect cannot be %d. Must be greater than or equal to zero", cfg.BootstrapExpect)
	case cfg.BootstrapExpect > 0 && !cfg.Server:
		return nil, fmt.Errorf("'bootstrap_expect > 0' requires 'server = true'")
	case cfg.BootstrapExpect > 0 && dev:
		return nil, fmt.Errorf("'bootstrap_expect > 0' not allowed in dev mode")
	case cfg.BootstrapExpect > 0 && cfg.Bootstrap:
		return nil, fmt.Errorf("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive")
	}
	if cfg.BootstrapExpect == 1 {
		cfg.Bootstrap, cfg.BootstrapExpect = true, 0
		warn("BootstrapExpect is set to 1; this is the same as Bootstrap mode.")
	}
	switch {
	case cfg.Server && !cfg.Bootstrap && cfg.BootstrapExpect == 2:
		warn("bootstrap_expect = 2: A cluster with 2 servers will provide no failure tolerance.")
	case cfg.Server && !cfg.Bootstrap && cfg.BootstrapExpect > 2 && cfg.BootstrapExpect%2 == 0:
		warn("bootstrap_expect is even number: A cluster with an even number of servers does not achieve optimum fault tolerance.")
	case cfg.Server && cfg.Bootstrap && !dev:
		warn("bootstrap = true: do not enable unless necessary")
	}
	cfg.SkipLeaveOnInterrupt = cfg.Server
	if r.SkipLeaveOnInterrupt != nil {
		cfg.SkipLeaveOnInterrupt = *r.SkipLeaveOnInterrupt
	}
	if r.ReconnectTimeout != nil {
		if *r.ReconnectTimeout < 8*time.Minute && !dev {
			warn("reconnect_timeout below 8m: failed members are reaped quickly")
		}
		cfg.ReconnectTimeout = *r.ReconnectTimeout
	}
	g := &cfg.GossipLAN
	for _, d := range []struct {
		src *time.Duration
		dst *time.Duration
	}{{r.GossipProbeInterval, &g.ProbeInterval}, {r.GossipProbeTimeout, &g.ProbeTimeout}, {r.GossipInterval, &g.GossipInterval}} {
		if d.src != nil {
			*d.dst = *d.src
		}
	}
	if r.GossipSuspicionMult != nil {
		g.SuspicionMult = *r.GossipSuspicionMult
	}
	if r.GossipRetransmitMult != nil {
		g.RetransmitMult = *r.GossipRetransmitMult
	}
	cfg.LeaveOnTerminate = !cfg.Server
	if r.LeaveOnTerminate != nil {
		cfg.LeaveOnTerminate = *r.LeaveOnTerminate
	}
	if r.UI != nil {
		warn("The 'ui' field is deprecated. Use the 'ui_config.enabled' field instead.")
	}
	if cfg.RaftMultiplier < 1 || cfg.RaftMultiplier > maxRaftMultip {
		return nil, fmt.Errorf("performance.raft_multiplier cannot be %d. Must be between 1 and %d", cfg.RaftMultiplier, maxRaftMultip)
	}

	// Addresses.
	if err := l.addresses(cfg, r, warn); err != nil {
		return nil, err
	}
	if err := buildSockets(cfg, r); err != nil {
		return nil, err
	}

	// DNS.
	cfg.DNS = agent.DNSConfig{
		NodeTTL:         *r.NodeTTL,
		ServiceTTL:      r.ServiceTTL,
		OnlyPassing:     *r.OnlyPassing,
		AllowStale:      *r.AllowStale,
		MaxStale:        *r.MaxStale,
		UDPAnswerLimit:  *r.UDPAnswerLimit,
		EnableTruncate:  *r.EnableTruncate,
		RecursorTimeout: *r.RecursorTimeout,
	}
	if cfg.DNS.UDPAnswerLimit < 0 {
		return nil, fmt.Errorf("dns_config.udp_answer_limit cannot be %d. Must be greater than or equal to zero", cfg.DNS.UDPAnswerLimit)
	}
	recs, err := recursors(r.Recursors)
	if err != nil {
		return nil, err
	}
	cfg.DNS.Recursors = recs

	// Logging.
	level := strings.ToUpper(strings.TrimSpace(*r.LogLevel))
	if level == "ERR" {
		level = "ERROR"
	}
	if level == "WARNING" {
		level = "WARN"
	}
	if lv := hclog.LevelFromString(level); lv == hclog.NoLevel || lv == hclog.Off {
		return nil, fmt.Errorf("Invalid log level: %q. Valid log levels are: [TRACE DEBUG INFO WARN ERR]", *r.LogLevel)
	}
	cfg.LogLevel = level

	return cfg, nil
}

// checkDataDir is Consul's data_dir validation (not run for DefaultConfig).
func checkDataDir(cfg *agent.Config) error {
	if cfg.Dev {
		return nil
	}
	if cfg.DataDir == "" {
		return errNoDataDir
	}
	fi, err := os.Stat(cfg.DataDir)
	switch {
	case err != nil && !os.IsNotExist(err):
		return fmt.Errorf("Error getting info on data_dir: %s", err)
	case err == nil && !fi.IsDir():
		return fmt.Errorf("data_dir %q is not a directory", cfg.DataDir)
	}
	return nil
}

func (l *Loader) addresses(cfg *agent.Config, r *rawConfig, warn func(string)) error {
	bind := strings.TrimSpace(*r.BindAddr)
	if bind == "" {
		return fmt.Errorf("bind_addr cannot be empty")
	}
	if strings.ContainsAny(bind, " \t") {
		return fmt.Errorf("bind_addr cannot contain multiple addresses. Use 'addresses.{dns,http,https}' instead.")
	}
	bip := net.ParseIP(bind)
	if bip == nil {
		return fmt.Errorf("bind_addr must be an ip address (got %q)", bind)
	}
	cfg.BindAddr = bip.String()

	adv := ""
	if r.AdvertiseAddr != nil && strings.TrimSpace(*r.AdvertiseAddr) != "" {
		adv = strings.TrimSpace(*r.AdvertiseAddr)
		if isAny(adv) {
			return fmt.Errorf("Advertise address cannot be 0.0.0.0, :: or [::]")
		}
		ip := net.ParseIP(adv)
		if ip == nil {
			return fmt.Errorf("advertise_addr must be an ip address (got %q)", adv)
		}
		adv = ip.String()
	} else if bip.IsUnspecified() {
		kind, detect := "private IPv4", l.privateIPv4
		if bip.To4() == nil {
			kind, detect = "public IPv6", l.publicIPv6
		}
		ips, err := detect()
		if err != nil {
			return fmt.Errorf("Error detecting %s address: %s", kind, err)
		}
		if len(ips) == 0 {
			return fmt.Errorf("No %s address found", kind)
		}
		if len(ips) > 1 {
			warn(fmt.Sprintf("Multiple %s addresses found (%s); advertising %s. Configure one with 'bind' and/or 'advertise'.", kind, strings.Join(ips, ", "), ips[0]))
		}
		adv = ips[0]
	} else {
		adv = cfg.BindAddr
	}
	cfg.AdvertiseAddr = adv

	client := strings.Fields(*r.ClientAddr)
	if len(client) == 0 {
		return fmt.Errorf("client_addr cannot be empty")
	}
	if len(client) > 1 {
		warn(fmt.Sprintf("client_addr %q has several addresses; minconsul listens on the first, %s", *r.ClientAddr, client[0]))
	}
	if net.ParseIP(client[0]) == nil {
		return fmt.Errorf("client_addr must be an ip address (got %q)", client[0])
	}
	var err error
	if cfg.HTTPAddr, err = listenAddr("addresses.http", r.HTTPAddr, client[0], *r.HTTPPort); err != nil {
		return err
	}
	if cfg.DNSAddr, err = listenAddr("addresses.dns", r.DNSAddr, client[0], *r.DNSPort); err != nil {
		return err
	}
	if cfg.HTTPAddr == cfg.DNSAddr && *r.HTTPPort != 0 {
		// DNS also listens on TCP, so the same host:port would collide.
		return fmt.Errorf("HTTP address %s already configured for DNS", cfg.HTTPAddr)
	}
	return nil
}

// listenAddr joins addresses.X (or client_addr) with ports.X.
func listenAddr(key string, override *string, client string, port int) (string, error) {
	host := client
	if override != nil && strings.TrimSpace(*override) != "" {
		f := strings.Fields(*override)
		host = f[0]
		if strings.HasPrefix(host, "unix://") {
			// The HTTP API may listen on a unix socket (wire binds it).
			if key == "addresses.http" && len(host) > len("unix://") {
				return host, nil
			}
			return "", fmt.Errorf("%s: unix sockets are not supported by minconsul", key)
		}
		if net.ParseIP(host) == nil {
			return "", fmt.Errorf("%s must be an ip address (got %q)", key, host)
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// recursors splits space-separated lists, drops duplicates and checks each
// is host or host:port.
func recursors(in []string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for _, r := range in {
		for _, a := range strings.Fields(r) {
			if strings.HasPrefix(a, "unix://") {
				return nil, fmt.Errorf("DNS Recursors cannot be unix sockets: %s", a)
			}
			host := a
			if h, p, err := net.SplitHostPort(a); err == nil {
				n, perr := strconv.Atoi(p)
				if perr != nil || n < 1 || n > 65535 {
					return nil, fmt.Errorf("recursors: invalid port in %q", a)
				}
				host = h
			}
			if isAny(host) {
				return nil, fmt.Errorf("DNS recursor address cannot be 0.0.0.0, :: or [::]")
			}
			if host == "" {
				return nil, fmt.Errorf("recursors: invalid address %q", a)
			}
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out, nil
}
