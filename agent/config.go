package agent

import (
	"time"

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
	RaftMultiplier     int // Consul's performance.raft_multiplier; 1 = fastest
	EnableScriptChecks bool
	LeaveOnTerminate   bool

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
