package agent

import (
	"time"

	"github.com/minconsul/minconsul/agent/checks"
	"github.com/minconsul/minconsul/agent/membership"
	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/structs"
)

// Config is the agent's whole runtime configuration, built by package
// config from defaults, config files and flags (in that precedence).
type Config struct {
	NodeName   string
	NodeID     string // UUID; generated (and persisted in DataDir) when empty
	Datacenter string
	Domain     string // "consul." (always fully qualified, lower case)
	DataDir    string // "" only with Dev
	Dev        bool   // in-memory Raft stores, fast timings, -bootstrap implied

	Server          bool
	Bootstrap       bool
	BootstrapExpect int

	BindAddr      string // IP gossip and Raft bind to
	AdvertiseAddr string // IP other nodes and DNS answers use for this node
	HTTPAddr      string // host:port (port 0 picks a free one) or unix:///path
	// UnixSockets sets the HTTP socket file's mode (octal), user and group
	// (names or numeric IDs) when HTTPAddr is unix:// (Consul's
	// unix_sockets); empty fields leave them as created.
	UnixSockets UnixSocketConfig
	DNSAddr     string // host:port, UDP and TCP; port 0 picks one
	ServerPort  int    // Raft (and later RPC) port; 0 picks one
	SerfLANPort int

	StartJoin []string
	RetryJoin []string
	// RetryInterval caps the -retry-join backoff (Consul's retry_interval).
	RetryInterval time.Duration
	// ReconnectTimeout is how long a failed member (and, for a server, its
	// Raft vote) is kept before it is reaped (Consul's reconnect_timeout).
	ReconnectTimeout time.Duration
	// GossipFast shortens memberlist's probe timings (tests only).
	GossipFast bool
	// GossipLAN overrides memberlist timings (Consul's gossip_lan block);
	// zero fields keep memberlist's LAN defaults.
	GossipLAN GossipConfig
	// SkipLeaveOnInterrupt: on SIGINT, shut down without leaving (Consul's
	// default for servers).
	SkipLeaveOnInterrupt bool

	DNS DNSConfig

	UIEnabled          bool
	TxnMaxReqLen       int64 // limits.txn_max_req_len (0: 512 KiB)
	RaftMultiplier     int   // Consul's performance.raft_multiplier; 1 = fastest
	EnableScriptChecks bool
	LeaveOnTerminate   bool
	// CheckUpdateInterval is Consul's check_update_interval: how long a
	// check's output-only change may wait before the catalog is written
	// (default 5 min; 0 writes every change at once).
	CheckUpdateInterval time.Duration
	// DockerExec runs Docker checks' commands in their containers; cmd
	// wires one over the Docker engine API. Nil refuses Docker checks.
	DockerExec checks.Docker
	// CheckReapInterval and CheckDeregisterMin are the critical-service
	// reaper's period and the shortest DeregisterCriticalServiceAfter it
	// honours (Consul: 30 s and 1 min; tests shorten them).
	CheckReapInterval, CheckDeregisterMin time.Duration
	// CheckMinInterval is the shortest interval a check runs at (Consul:
	// 1 s, shorter ones are raised with a warning; tests use 0).
	CheckMinInterval time.Duration
	// CheckOutputMaxSize is Consul's check_output_max_size (0: 4096).
	CheckOutputMaxSize int

	Services []*structs.ServiceDefinition
	Checks   []*structs.CheckDefinition

	// Reload, when set, rebuilds the configuration from the same files and
	// flags (PUT /v1/agent/reload, SIGHUP); the agent applies the parts that
	// can change at run time (services, checks, log level, DNS TTLs).
	Reload func() (*Config, error)
	// LogLevel is applied on reload through SetLogLevel.
	LogLevel    string
	SetLogLevel func(string)

	// Version reported by /v1/agent/self.
	Version string
	// SelfSections are extra top-level sections of /v1/agent/self from
	// parts wired next to the agent (cmd adds "Registrar").
	SelfSections map[string]func() any

	// NodeMeta is node_meta / -node-meta (validated as Consul does).
	NodeMeta map[string]string
	// KVMaxValueSize is limits.kv_max_value_size (0: Consul's 512 KiB).
	KVMaxValueSize int
	// EncryptKey is the gossip encryption key (encrypt / -encrypt), nil
	// for none; a keyring file in data_dir takes precedence, as Consul's.
	EncryptKey []byte
	// EncryptPlainIncoming/Outgoing are Consul's encrypt_verify_incoming /
	// _outgoing = false (accept / send plain gossip while a cluster turns
	// encryption on); the zero value verifies both ways, Consul's default.
	EncryptPlainIncoming, EncryptPlainOutgoing bool
	// CoordinateInterval is how often the agent sends its network
	// coordinate to the servers (Consul's sync_coordinate_interval_min);
	// 0: 15s.
	CoordinateInterval time.Duration

	// Telemetry shapes the agent's metrics (Consul's telemetry block).
	Telemetry telemetry.Config
	// Metrics is the agent's metrics instance, made by cmd/minconsul/wire
	// from Telemetry; nil records nothing.
	Metrics *telemetry.Metrics
}

// GossipConfig is Consul's gossip_lan block.
type GossipConfig = membership.GossipConfig

// DNSConfig is Consul's dns_config block plus recursors.
type DNSConfig struct {
	NodeTTL         time.Duration
	ServiceTTL      map[string]time.Duration // by service name; "*" is the default
	OnlyPassing     bool
	AllowStale      bool
	MaxStale        time.Duration
	UDPAnswerLimit  int
	EnableTruncate  bool
	Recursors       []string // host[:port]; port 53 when absent
	RecursorTimeout time.Duration
}

// UnixSocketConfig is Consul's unix_sockets block.
type UnixSocketConfig struct {
	Mode, User, Group string
}
