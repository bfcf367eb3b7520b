package local

import (
	"fmt"
	"time"

	"github.com/minconsul/minconsul/agent/checks"
	"github.com/minconsul/minconsul/structs"
)

// validateService turns a definition into the catalog's NodeService and
// its checks, with Consul's defaults and messages.
func (s *State) validateService(def *structs.ServiceDefinition) (*structs.NodeService, []*check, error) {
	if def == nil {
		return nil, nil, structs.BadRequest("Request decode failed: empty body")
	}
	if def.Name == "" {
		return nil, nil, structs.BadRequest("Missing service name")
	}
	if def.Port < 0 || def.Port > 65535 {
		return nil, nil, structs.BadRequest(fmt.Sprintf("Invalid service port: %d", def.Port))
	}
	ns := &structs.NodeService{
		ID: def.ID, Service: def.Name, Tags: append([]string{}, def.Tags...), Address: def.Address,
		TaggedAddresses: def.TaggedAddresses, Meta: map[string]string{}, Port: def.Port,
		EnableTagOverride: def.EnableTagOverride, Weights: structs.Weights{Passing: 1, Warning: 1},
	}
	if ns.ID == "" {
		ns.ID = ns.Service
	}
	if err := structs.ValidateMeta(def.Meta, false); err != nil {
		return nil, nil, structs.BadRequest("Invalid Service Meta: " + err.Error())
	}
	for k, v := range def.Meta {
		ns.Meta[k] = v
	}
	if def.Weights != nil {
		if def.Weights.Passing < 1 {
			return nil, nil, structs.BadRequest("Passing must be greater than 0")
		}
		if def.Weights.Warning < 0 {
			return nil, nil, structs.BadRequest("Warning must be greater or equal than 0")
		}
		ns.Weights = *def.Weights
	}
	var defs []*structs.CheckDefinition
	if def.Check != nil {
		defs = append(defs, def.Check)
	}
	defs = append(defs, def.Checks...)
	var out []*check
	for i, cd := range defs {
		if cd == nil {
			continue
		}
		c := *cd
		c.ServiceID = ns.ID
		if c.CheckID == "" && c.ID == "" {
			c.CheckID = "service:" + ns.ID
			if len(defs) > 1 {
				c.CheckID = fmt.Sprintf("service:%s:%d", ns.ID, i+1)
			}
		}
		if c.Name == "" {
			c.Name = fmt.Sprintf("Service '%s' check", ns.Service)
		}
		lc, err := s.validateCheck(&c, ns)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, lc)
	}
	return ns, out, nil
}

// validateCheck builds a runnable check from a definition.
func (s *State) validateCheck(def *structs.CheckDefinition, svc *structs.NodeService) (*check, error) {
	id := def.CheckID
	if id == "" {
		id = def.ID
	}
	if def.Name == "" {
		return nil, structs.BadRequest("Missing check name")
	}
	if id == "" {
		id = def.Name
	}
	status := def.Status
	if status == "" {
		status = structs.HealthCritical
	}
	if !validStatus(status) {
		return nil, structs.BadRequest("Status for checks must 'passing', 'warning', 'critical'")
	}
	hc := &structs.HealthCheck{
		Node: s.cfg.NodeName, CheckID: id, Name: def.Name, Status: status, Notes: def.Notes,
		ServiceID: def.ServiceID, ServiceTags: []string{},
		Definition: structs.HealthCheckDefinition{
			HTTP: def.HTTP, Header: def.Header, Method: def.Method, Body: def.Body, TCP: def.TCP,
			Interval: def.Interval, Timeout: def.Timeout, TTL: def.TTL,
			DeregisterCriticalServiceAfter: def.DeregisterCriticalServiceAfter,
			TLSServerName:                  def.TLSServerName, TLSSkipVerify: def.TLSSkipVerify, DisableRedirects: def.DisableRedirects,
			GRPC: def.GRPC, GRPCUseTLS: def.GRPCUseTLS, H2PING: def.H2PING, H2PingUseTLS: def.H2PingUseTLS,
			DockerContainerID: def.DockerContainerID, Shell: def.Shell, ScriptArgs: scriptArgs(def),
			AliasNode: def.AliasNode, AliasService: def.AliasService, TCPUseTLS: def.TCPUseTLS, UDP: def.UDP,
			OutputMaxSize: def.OutputMaxSize,
		},
	}
	if svc != nil {
		hc.ServiceName, hc.ServiceTags = svc.Service, append([]string{}, svc.Tags...)
	}
	c := &check{id: id, hc: hc, def: def, thresholds: checks.Thresholds{
		SuccessBeforePassing: def.SuccessBeforePassing, FailuresBeforeWarning: def.FailuresBeforeWarning,
		FailuresBeforeCritical: def.FailuresBeforeCritical,
	}}
	if def.SuccessBeforePassing < 0 || def.FailuresBeforeWarning < 0 || def.FailuresBeforeCritical < 0 {
		return nil, structs.BadRequest("Invalid check: SuccessBeforePassing, FailuresBeforeWarning and FailuresBeforeCritical must be >= 0")
	}
	c.outputCap = checks.OutputCap(s.cfg.OutputMaxSize, def.OutputMaxSize)
	parse := func(field, v string) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, structs.BadRequest(fmt.Sprintf("Invalid check %s: %q: %v", field, v, err))
		}
		return d, nil
	}
	ttl, err := parse("TTL", def.TTL)
	if err != nil {
		return nil, err
	}
	interval, err := parse("Interval", def.Interval)
	if err != nil {
		return nil, err
	}
	timeout, err := parse("Timeout", def.Timeout)
	if err != nil {
		return nil, err
	}
	if c.deregAfter, err = parse("DeregisterCriticalServiceAfter", def.DeregisterCriticalServiceAfter); err != nil {
		return nil, err
	}
	if c.deregAfter > 0 && c.deregAfter < s.cfg.DeregisterMin {
		s.logger.Warn("DeregisterCriticalServiceAfter is below the minimum; using the minimum",
			"check", id, "minimum", s.cfg.DeregisterMin)
		c.deregAfter = s.cfg.DeregisterMin
	}
	args := def.ScriptArgs
	if len(args) == 0 {
		args = def.Args
	}
	alias := def.AliasNode != "" || def.AliasService != ""
	intervalCheck := def.HTTP != "" || def.TCP != "" || def.UDP != "" || def.GRPC != "" || def.H2PING != "" || len(args) > 0
	switch {
	case ttl > 0 && interval > 0:
		return nil, structs.BadRequest("Invalid check: Interval and TTL cannot both be specified")
	case alias && ttl > 0:
		return nil, structs.BadRequest("Invalid check: TTL must be not be set for Alias checks")
	case alias && interval > 0:
		return nil, structs.BadRequest("Invalid check: Interval cannot be set for Alias checks")
	}
	switch {
	case def.TTL != "":
		if ttl <= 0 {
			return nil, structs.BadRequest("Invalid check: TTL must be > 0 for TTL checks")
		}
		hc.Type, c.ttl = "ttl", ttl
	case alias:
		hc.Type, c.alias = "alias", &aliasTarget{node: def.AliasNode, serviceID: def.AliasService}
	case intervalCheck:
		if interval <= 0 {
			return nil, structs.BadRequest("Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks")
		}
		if interval < s.cfg.MinInterval {
			s.logger.Warn("check has interval below minimum", "check", id, "minimum_interval", s.cfg.MinInterval)
			interval = s.cfg.MinInterval
		}
		if err := s.setProbe(c, def, args, interval, timeout); err != nil {
			return nil, err
		}
	default:
		// Nothing to run (a Docker check without Args included): Consul
		// takes it for a TTL check without a TTL.
		return nil, structs.BadRequest("Invalid check: TTL must be > 0 for TTL checks")
	}
	// After the kind's own errors, as Consul's CheckType.Validate.
	if def.OutputMaxSize < 0 {
		return nil, structs.BadRequest("Invalid check: MaxOutputMaxSize must be positive") // sic, Consul's text
	}
	if def.FailuresBeforeWarning > def.FailuresBeforeCritical {
		return nil, structs.BadRequest("Invalid check: FailuresBeforeWarning can't be higher than FailuresBeforeCritical")
	}
	return c, nil
}

// setProbe gives an interval check its probe, with Consul's default
// timeouts (10 s; 30 s for commands).
func (s *State) setProbe(c *check, def *structs.CheckDefinition, args []string, interval, timeout time.Duration) error {
	hc := c.hc
	if timeout <= 0 {
		timeout = 10 * time.Second
		if len(args) > 0 {
			timeout = 30 * time.Second
		}
	}
	hc.Interval, hc.Timeout = interval.String(), timeout.String()
	tlsCfg := checks.TLS{ServerName: def.TLSServerName, SkipVerify: def.TLSSkipVerify}
	switch {
	case def.HTTP != "":
		hc.Type, c.probe = "http", &checks.HTTP{URL: def.HTTP, Method: def.Method, Header: def.Header, Body: def.Body,
			Every: interval, Timeout: timeout, TLS: tlsCfg, DisableRedirects: def.DisableRedirects,
			MaxOutputSize: c.outputCap}
	case def.TCP != "":
		hc.Type, c.probe = "tcp", &checks.TCP{Addr: def.TCP, UseTLS: def.TCPUseTLS, TLS: tlsCfg, Every: interval, Timeout: timeout}
	case def.UDP != "":
		hc.Type, c.probe = "udp", &checks.UDP{Addr: def.UDP, Every: interval, Timeout: timeout}
	case def.GRPC != "":
		hc.Type, c.probe = "grpc", &checks.GRPC{Target: def.GRPC, UseTLS: def.GRPCUseTLS, TLS: tlsCfg,
			Every: interval, Timeout: timeout}
	case def.H2PING != "":
		hc.Type, c.probe = "h2ping", &checks.H2PING{Addr: def.H2PING, UseTLS: def.H2PingUseTLS, TLS: tlsCfg,
			Every: interval, Timeout: timeout}
	default:
		if !s.cfg.EnableScriptChecks {
			return structs.BadRequest("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true")
		}
		if def.DockerContainerID == "" {
			hc.Type, c.probe = "script", &checks.Script{Args: args, Every: interval, Timeout: timeout,
				MaxOutputSize: c.outputCap}
			return nil
		}
		if s.cfg.Docker == nil {
			return fmt.Errorf("docker check %q: no Docker engine client on this agent", c.id)
		}
		hc.Type, c.probe = "docker", &checks.DockerExec{Client: s.cfg.Docker, ContainerID: def.DockerContainerID,
			Args: args, Every: interval, Timeout: timeout, MaxOutputSize: c.outputCap}
	}
	return nil
}

func scriptArgs(def *structs.CheckDefinition) []string {
	if len(def.ScriptArgs) > 0 {
		return def.ScriptArgs
	}
	return def.Args
}

func validStatus(s string) bool {
	return s == structs.HealthPassing || s == structs.HealthWarning || s == structs.HealthCritical
}
