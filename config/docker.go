package config

import (
	"fmt"
	"net"
	"time"
)

// Docker is the registrar's configuration: minconsul's own keys, so the
// agent section stays Consul's. In a config file:
//
//	"docker": true, "docker_host": "unix:///var/run/docker.sock", "docker_labels": ["k=v"],
//	"registrar": {"internal": false, "ip": "", "explicit": false, "tags": "",
//	              "deregister": "always", "cleanup": false, "resync": "0s", "use_ip_from_label": ""}
//
// The registrar block takes registrator's option names (snake_case).
type Docker struct {
	// Enabled is -docker; nil means not set anywhere, and then -dev turns
	// the registrar on when a Docker engine answers.
	Enabled             *bool
	Host                string
	Labels              []string
	Internal            bool
	HostIP              string
	Explicit            bool
	Tags                string
	DeregisterOnSuccess bool
	Cleanup             bool
	Resync              time.Duration
	UseIPFromLabel      string
}

// docker reads the top-level docker keys and the registrar block.
func (d *decoder) docker(r *rawConfig, key string, v any) error {
	var err error
	switch key {
	case "docker":
		r.Docker, err = d.boolean(key, v)
	case "docker_host":
		r.DockerHost, err = d.str(key, v)
	case "docker_labels":
		r.DockerLabels, err = d.strings(key, v)
	case "registrar":
		var m map[string]any
		if m, err = d.object(key, v); err != nil {
			return err
		}
		for _, k := range sortedKeys(m) {
			p, val := key+"."+k, m[k]
			switch k {
			case "internal":
				r.RegInternal, err = d.boolean(p, val)
			case "ip":
				r.RegIP, err = d.str(p, val)
			case "explicit":
				r.RegExplicit, err = d.boolean(p, val)
			case "tags":
				r.RegTags, err = d.str(p, val)
			case "deregister":
				if r.RegDeregister, err = d.str(p, val); err == nil && *r.RegDeregister != "always" && *r.RegDeregister != "on-success" {
					err = d.errf(p, "must be \"always\" or \"on-success\", got %q", *r.RegDeregister)
				}
			case "cleanup":
				r.RegCleanup, err = d.boolean(p, val)
			case "resync":
				r.RegResync, err = d.duration(p, val)
			case "use_ip_from_label":
				r.RegUseIPFromLabel, err = d.str(p, val)
			default:
				d.ignore(p)
			}
			if err != nil {
				return err
			}
		}
	}
	return err
}

// dockerSettings is the merged registrar configuration.
func dockerSettings(r *rawConfig) (Docker, error) {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	flag := func(p *bool) bool { return p != nil && *p }
	out := Docker{
		Enabled: r.Docker, Host: str(r.DockerHost), Labels: r.DockerLabels,
		Internal: flag(r.RegInternal), HostIP: str(r.RegIP), Explicit: flag(r.RegExplicit), Tags: str(r.RegTags),
		DeregisterOnSuccess: str(r.RegDeregister) == "on-success", Cleanup: flag(r.RegCleanup),
		UseIPFromLabel: str(r.RegUseIPFromLabel),
	}
	if r.RegResync != nil {
		out.Resync = *r.RegResync
	}
	if out.HostIP != "" && net.ParseIP(out.HostIP) == nil {
		return out, fmt.Errorf("registrar.ip: %q is not an IP address", out.HostIP)
	}
	return out, nil
}
