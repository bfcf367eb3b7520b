package structs

// CheckDefinition is a check as a client registers it: inside a service
// registration (Check/Checks), on PUT /v1/agent/check/register, or in a
// config file. Durations are Go duration strings ("10s"), as Consul accepts.
type CheckDefinition struct {
	ID                             string              `json:",omitempty"`
	CheckID                        string              `json:",omitempty"`
	Name                           string              `json:",omitempty"`
	Notes                          string              `json:",omitempty"`
	ServiceID                      string              `json:",omitempty"`
	Status                         string              `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	Args                           []string            `json:",omitempty"`
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	TTL                            string              `json:",omitempty"`
	DockerContainerID              string              `json:",omitempty"`
	Shell                          string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	DisableRedirects               bool                `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	H2PingUseTLS                   bool                `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	SuccessBeforePassing           int                 `json:",omitempty"`
	FailuresBeforeWarning          int                 `json:",omitempty"`
	FailuresBeforeCritical         int                 `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	// OutputMaxSize lowers the agent's check_output_max_size for this
	// check (0: the agent's; negative is refused).
	OutputMaxSize int `json:",omitempty"`
}

// ServiceDefinition is a service as a client registers it on
// PUT /v1/agent/service/register or in a config file.
type ServiceDefinition struct {
	ID                string                    `json:",omitempty"`
	Name              string                    `json:",omitempty"`
	Tags              []string                  `json:",omitempty"`
	Address           string                    `json:",omitempty"`
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string         `json:",omitempty"`
	Port              int                       `json:",omitempty"`
	Weights           *Weights                  `json:",omitempty"`
	EnableTagOverride bool                      `json:",omitempty"`
	Check             *CheckDefinition          `json:",omitempty"`
	Checks            []*CheckDefinition        `json:",omitempty"`
}

// AgentService is a locally registered service as /v1/agent/services shows it.
type AgentService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Weights           Weights
	EnableTagOverride bool
	ContentHash       string `json:",omitempty" bexpr:"-"`
	Datacenter        string `bexpr:"-"`
}

// AgentMember is one gossip member as /v1/agent/members shows it.
// Status: 0 none, 1 alive, 2 leaving, 3 left, 4 failed (serf's values).
type AgentMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// AgentServiceChecksInfo is one local service instance's health as
// /v1/agent/health/service/* answers it: its checks with the node's, and
// the worst of their statuses.
type AgentServiceChecksInfo struct {
	AggregatedStatus string
	Service          *AgentService
	Checks           HealthChecks
}
