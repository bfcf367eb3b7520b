package config

import (
	"fmt"
	"strconv"

	"github.com/minconsul/minconsul/agent"
)

// unixSockets reads Consul's unix_sockets block (mode, user, group of the
// HTTP API's socket file when addresses.http is unix://).
func (d *decoder) unixSockets(r *rawConfig, key string, v any) error {
	return d.block(key, v, map[string]func(string, any) error{
		"mode":  func(p string, v any) (err error) { r.SocketMode, err = d.str(p, v); return },
		"user":  func(p string, v any) (err error) { r.SocketUser, err = d.str(p, v); return },
		"group": func(p string, v any) (err error) { r.SocketGroup, err = d.str(p, v); return },
	})
}

// telemetry reads the parts of Consul's telemetry block minconsul's
// metrics honour.
func (d *decoder) telemetry(r *rawConfig, key string, v any) error {
	return d.block(key, v, map[string]func(string, any) error{
		"disable_hostname": func(p string, v any) (err error) {
			r.TelemetryDisableHostname, err = d.boolean(p, v)
			return
		},
		"prometheus_retention_time": func(p string, v any) (err error) {
			r.PrometheusRetention, err = d.duration(p, v)
			return
		},
	})
}

// block decodes an object key by key through set; keys it does not name
// are ignored with the usual warning.
func (d *decoder) block(key string, v any, set map[string]func(p string, v any) error) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		f, ok := set[k]
		if !ok {
			d.ignore(p)
			continue
		}
		if err := f(p, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// buildSockets checks unix_sockets (Consul's messages) into the agent's
// config.
func buildSockets(cfg *agent.Config, r *rawConfig) error {
	if r.SocketMode != nil && *r.SocketMode != "" {
		if _, err := strconv.ParseUint(*r.SocketMode, 8, 32); err != nil {
			return fmt.Errorf("invalid mode specified: %v", *r.SocketMode)
		}
		cfg.UnixSockets.Mode = *r.SocketMode
	}
	if r.SocketUser != nil {
		cfg.UnixSockets.User = *r.SocketUser
	}
	if r.SocketGroup != nil {
		cfg.UnixSockets.Group = *r.SocketGroup
	}
	if r.CoordinateInterval != nil {
		cfg.CoordinateInterval = *r.CoordinateInterval
	}
	if r.TelemetryDisableHostname != nil {
		cfg.Telemetry.DisableHostname = *r.TelemetryDisableHostname
	}
	if r.PrometheusRetention != nil {
		cfg.Telemetry.PrometheusRetention = *r.PrometheusRetention
		if *r.PrometheusRetention <= 0 {
			// Set to 0, as in Consul, it turns the Prometheus sink off.
			cfg.Telemetry.PrometheusRetention = -1
		}
	}
	return nil
}
