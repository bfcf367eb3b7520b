package config

import (
	"reflect"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// rawConfig is what one source (defaults, a file, the flags) says. A nil
// pointer means "not set here"; merge lets later sources override earlier
// ones, appends slices and overlays maps, as Consul does.
type rawConfig struct {
	NodeName      *string
	NodeID        *string
	Datacenter    *string
	Domain        *string
	DataDir       *string
	BindAddr      *string
	AdvertiseAddr *string
	ClientAddr    *string
	HTTPAddr      *string // addresses.http
	DNSAddr       *string // addresses.dns

	// unix_sockets and telemetry (sockets.go)
	SocketMode, SocketUser, SocketGroup *string
	TelemetryDisableHostname            *bool
	CoordinateInterval                  *time.Duration
	PrometheusRetention                 *time.Duration

	HTTPPort    *int
	DNSPort     *int
	ServerPort  *int
	SerfLANPort *int

	Server          *bool
	Bootstrap       *bool
	BootstrapExpect *int

	StartJoin     []string
	RetryJoin     []string
	RetryInterval *time.Duration
	RetryMax      *int
	Recursors     []string

	LogLevel *string
	LogJSON  *bool

	UI        *bool // deprecated top-level "ui"
	UIEnabled *bool // ui_config.enabled

	NodeTTL         *time.Duration
	ServiceTTL      map[string]time.Duration
	OnlyPassing     *bool
	AllowStale      *bool
	MaxStale        *time.Duration
	UDPAnswerLimit  *int
	EnableTruncate  *bool
	RecursorTimeout *time.Duration

	RaftMultiplier       *int
	EnableScriptChecks   *bool
	LeaveOnTerminate     *bool
	SkipLeaveOnInterrupt *bool
	ReconnectTimeout     *time.Duration
	CheckUpdateInterval  *time.Duration
	CheckOutputMaxSize   *int
	TxnMaxReqLen         *int // limits.txn_max_req_len

	GossipProbeInterval  *time.Duration
	GossipProbeTimeout   *time.Duration
	GossipInterval       *time.Duration
	GossipSuspicionMult  *int
	GossipRetransmitMult *int

	Services []*structs.ServiceDefinition
	Checks   []*structs.CheckDefinition

	// The Docker registrar (minconsul's own keys; see docker.go).
	Docker            *bool
	DockerHost        *string
	DockerLabels      []string
	RegInternal       *bool
	RegIP             *string
	RegExplicit       *bool
	RegTags           *string
	RegDeregister     *string
	RegCleanup        *bool
	RegResync         *time.Duration
	RegUseIPFromLabel *string

	// node_meta and -node-meta key:value (repeatable).
	NodeMeta      map[string]string
	NodeMetaFlags []string
	// limits.kv_max_value_size; security settings (security.go).
	KVMaxValueSize *int
	Security       securityRaw
}

// merge overlays src onto dst field by field.
func merge(dst, src *rawConfig) {
	mergeValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem())
}

func mergeValue(dv, sv reflect.Value) {
	for i := 0; i < dv.NumField(); i++ {
		d, s := dv.Field(i), sv.Field(i)
		switch s.Kind() {
		case reflect.Struct:
			mergeValue(d, s)
		case reflect.Pointer:
			if !s.IsNil() {
				d.Set(s)
			}
		case reflect.Slice:
			if s.Len() > 0 {
				d.Set(reflect.AppendSlice(d, s))
			}
		case reflect.Map:
			if s.Len() == 0 {
				continue
			}
			if d.IsNil() {
				d.Set(reflect.MakeMap(s.Type()))
			}
			iter := s.MapRange()
			for iter.Next() {
				d.SetMapIndex(iter.Key(), iter.Value())
			}
		}
	}
}

// decodeConfig reads one source's top-level object.
func (d *decoder) decodeConfig(m map[string]any) (*rawConfig, error) {
	r := &rawConfig{}
	var err error
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "node_name":
			r.NodeName, err = d.str(k, v)
		case "node_id":
			r.NodeID, err = d.str(k, v)
		case "datacenter":
			r.Datacenter, err = d.str(k, v)
		case "domain":
			r.Domain, err = d.str(k, v)
		case "data_dir":
			r.DataDir, err = d.str(k, v)
		case "bind_addr":
			r.BindAddr, err = d.str(k, v)
		case "advertise_addr":
			r.AdvertiseAddr, err = d.str(k, v)
		case "client_addr":
			r.ClientAddr, err = d.str(k, v)
		case "addresses":
			err = d.addresses(r, k, v)
		case "ports":
			err = d.ports(r, k, v)
		case "sync_coordinate_interval_min":
			r.CoordinateInterval, err = d.duration(k, v)
		case "unix_sockets":
			err = d.unixSockets(r, k, v)
		case "telemetry":
			err = d.telemetry(r, k, v)
		case "server":
			r.Server, err = d.boolean(k, v)
		case "bootstrap":
			r.Bootstrap, err = d.boolean(k, v)
		case "bootstrap_expect":
			r.BootstrapExpect, err = d.integer(k, v)
		case "retry_join":
			r.RetryJoin, err = d.strings(k, v)
		case "start_join":
			r.StartJoin, err = d.strings(k, v)
		case "retry_interval":
			r.RetryInterval, err = d.duration(k, v)
		case "retry_max":
			r.RetryMax, err = d.integer(k, v)
		case "recursors":
			r.Recursors, err = d.strings(k, v)
		case "recursor": // Consul accepts the singular key too
			var s *string
			if s, err = d.str(k, v); err == nil {
				r.Recursors = []string{*s}
			}
		case "log_level":
			r.LogLevel, err = d.str(k, v)
		case "log_json":
			r.LogJSON, err = d.boolean(k, v)
		case "ui":
			r.UI, err = d.boolean(k, v)
		case "ui_config":
			err = d.uiConfig(r, k, v)
		case "dns_config":
			err = d.dnsConfig(r, k, v)
		case "performance":
			err = d.performance(r, k, v)
		case "enable_script_checks":
			r.EnableScriptChecks, err = d.boolean(k, v)
		case "leave_on_terminate":
			r.LeaveOnTerminate, err = d.boolean(k, v)
		case "skip_leave_on_interrupt":
			r.SkipLeaveOnInterrupt, err = d.boolean(k, v)
		case "reconnect_timeout":
			r.ReconnectTimeout, err = d.duration(k, v)
		case "check_update_interval":
			r.CheckUpdateInterval, err = d.duration(k, v)
		case "check_output_max_size":
			r.CheckOutputMaxSize, err = d.integer(k, v)
		case "limits":
			err = d.limits(r, k, v)
		case "gossip_lan":
			err = d.gossipLAN(r, k, v)
		case "service", "services":
			var svcs []*structs.ServiceDefinition
			if svcs, err = d.services(k, v); err == nil {
				r.Services = append(r.Services, svcs...)
			}
		case "check", "checks":
			var chks []*structs.CheckDefinition
			if chks, err = d.checks(k, v); err == nil {
				r.Checks = append(r.Checks, chks...)
			}
		case "docker", "docker_host", "docker_labels", "registrar":
			err = d.docker(r, k, v)
		case "node_meta":
			r.NodeMeta, err = d.stringMap(k, v)
		case "acl":
			err = d.acl(r, k, v)
		case "acl_default_policy", "acl_datacenter":
			err = d.legacyACL(r, k, v)
		case "tls", "verify_incoming", "verify_outgoing", "verify_server_hostname", "verify_incoming_rpc", "verify_incoming_https":
			err = d.tlsVerify(r, k, v)
		case "encrypt":
			r.Security.Encrypt, err = d.str(k, v)
		case "encrypt_verify_incoming":
			r.Security.EncryptVerifyIncoming, err = d.boolean(k, v)
		case "encrypt_verify_outgoing":
			r.Security.EncryptVerifyOutgoing, err = d.boolean(k, v)
		default:
			d.ignore(k)
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (d *decoder) addresses(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		switch k {
		case "http":
			r.HTTPAddr, err = d.str(p, m[k])
		case "dns":
			r.DNSAddr, err = d.str(p, m[k])
		default:
			d.ignore(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) ports(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		var dst **int
		switch k {
		case "http":
			dst = &r.HTTPPort
		case "dns":
			dst = &r.DNSPort
		case "server":
			dst = &r.ServerPort
		case "serf_lan":
			dst = &r.SerfLANPort
		default:
			d.ignore(p)
			continue
		}
		n, err := d.integer(p, m[k])
		if err != nil {
			return err
		}
		if *n < 0 || *n > 65535 {
			return d.errf(p, "port %d out of range (0-65535; minconsul cannot disable a listener with -1)", *n)
		}
		*dst = n
	}
	return nil
}

func (d *decoder) uiConfig(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		if k != "enabled" {
			d.ignore(p)
			continue
		}
		if r.UIEnabled, err = d.boolean(p, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// gossipLAN reads Consul's gossip_lan tuning block (memberlist timings).
func (d *decoder) gossipLAN(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		switch k {
		case "probe_interval":
			r.GossipProbeInterval, err = d.duration(p, m[k])
		case "probe_timeout":
			r.GossipProbeTimeout, err = d.duration(p, m[k])
		case "gossip_interval":
			r.GossipInterval, err = d.duration(p, m[k])
		case "suspicion_mult":
			r.GossipSuspicionMult, err = d.integer(p, m[k])
		case "retransmit_mult":
			r.GossipRetransmitMult, err = d.integer(p, m[k])
		default:
			d.ignore(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) performance(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p := key + "." + k
		if k != "raft_multiplier" {
			d.ignore(p)
			continue
		}
		if r.RaftMultiplier, err = d.integer(p, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) dnsConfig(r *rawConfig, key string, v any) error {
	m, err := d.object(key, v)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		p, val := key+"."+k, m[k]
		switch k {
		case "node_ttl":
			r.NodeTTL, err = d.duration(p, val)
		case "service_ttl":
			var ttls map[string]any
			if ttls, err = d.object(p, val); err != nil {
				return err
			}
			r.ServiceTTL = make(map[string]time.Duration, len(ttls))
			for _, name := range sortedKeys(ttls) {
				dur, err := d.duration(p+"."+name, ttls[name])
				if err != nil {
					return err
				}
				r.ServiceTTL[name] = *dur
			}
		case "only_passing":
			r.OnlyPassing, err = d.boolean(p, val)
		case "allow_stale":
			r.AllowStale, err = d.boolean(p, val)
		case "max_stale":
			r.MaxStale, err = d.duration(p, val)
		case "udp_answer_limit":
			r.UDPAnswerLimit, err = d.integer(p, val)
		case "enable_truncate":
			r.EnableTruncate, err = d.boolean(p, val)
		case "recursor_timeout":
			r.RecursorTimeout, err = d.duration(p, val)
		default:
			d.ignore(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
