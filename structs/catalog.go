package structs

import "sort"

// Health states, as Consul names them.
const (
	HealthAny      = "any"
	HealthPassing  = "passing"
	HealthWarning  = "warning"
	HealthCritical = "critical"
	HealthMaint    = "maintenance"
)

// SerfCheckID is the node-level check every member carries.
const (
	SerfCheckID      = "serfHealth"
	SerfCheckName    = "Serf Health Status"
	SerfAliveOutput  = "Agent alive and reachable"
	SerfFailedOutput = "Agent not live or unreachable"
)

// Node is a catalog node (/v1/catalog/nodes).
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64 `bexpr:"-"`
	ModifyIndex     uint64 `bexpr:"-"`
}

// Nodes is a list of catalog nodes, sorted by name.
type Nodes []*Node

// Weights are a service's DNS SRV weights by health.
type Weights struct {
	Passing int
	Warning int
}

// ServiceAddress is a tagged address of a service.
type ServiceAddress struct {
	Address string
	Port    int
}

// ServiceProxy and ServiceConnect stand for Consul's Connect blocks, which
// minconsul does not implement; they are kept so that responses keep
// Consul's shape ("Proxy":{"MeshGateway":{},"Expose":{}},"Connect":{}) and
// so that ?filter accepts Consul's ServiceProxy.* / Service.Proxy.*
// selectors (empty fields are omitted; the nested ones are never encoded).
type ServiceProxy struct {
	DestinationServiceName string                 `json:",omitempty"`
	DestinationServiceID   string                 `json:",omitempty"`
	LocalServiceAddress    string                 `json:",omitempty"`
	LocalServicePort       int                    `json:",omitempty"`
	Mode                   string                 `json:",omitempty"`
	TransparentProxy       TransparentProxyConfig `json:"-"`
	MeshGateway            MeshGatewayConfig
	Expose                 struct{}
	Upstreams              []Upstream `json:"-"`
}

// TransparentProxyConfig: see ServiceProxy.
type TransparentProxyConfig struct {
	OutboundListenerPort int
}

// MeshGatewayConfig: see ServiceProxy.
type MeshGatewayConfig struct {
	Mode string `json:",omitempty"`
}

// Upstream: see ServiceProxy.
type Upstream struct {
	DestinationType      string
	DestinationNamespace string
	DestinationName      string
	Datacenter           string
	LocalBindAddress     string
	LocalBindPort        int
	MeshGateway          MeshGatewayConfig
}

// ServiceConnect: see ServiceProxy. Native is kept (always false) so a
// ?filter naming Connect.Native is valid, as Consul's selectors are.
type ServiceConnect struct {
	Native bool `json:",omitempty"`
}

// NodeService is a service instance on a node, as the catalog stores it.
type NodeService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int
	Weights           Weights
	EnableTagOverride bool
	Proxy             ServiceProxy
	Connect           ServiceConnect
	CreateIndex       uint64 `bexpr:"-"`
	ModifyIndex       uint64 `bexpr:"-"`
}

// ServiceNode is one row of /v1/catalog/service/<name>.
type ServiceNode struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	ServiceWeights           Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceEnableTagOverride bool
	ServiceProxy             ServiceProxy
	ServiceConnect           ServiceConnect
	CreateIndex              uint64 `bexpr:"-"`
	ModifyIndex              uint64 `bexpr:"-"`
}

// ServiceNodes is a list of service instances.
type ServiceNodes []*ServiceNode

// NodeServices is /v1/catalog/node/<node>: the node and its services by ID.
type NodeServices struct {
	Node     *Node
	Services map[string]*NodeService
}

// NodeServiceList is /v1/catalog/node-services/<node>.
type NodeServiceList struct {
	Node     *Node
	Services []*NodeService
}

// NodeInfo is a node with its services and checks (Consul's NodeInfo, one
// row of a node dump).
type NodeInfo struct {
	Node     *Node
	Services []*NodeService
	Checks   HealthChecks
}

// NodeDump is every node with its services and checks.
type NodeDump []*NodeInfo

// ServiceUsage is one datacenter's counts on /v1/operator/usage.
type ServiceUsage struct {
	Nodes                    int
	Services                 int
	ServiceInstances         int
	ConnectServiceInstances  map[string]int
	BillableServiceInstances int
}

// HealthCheckDefinition echoes how a check runs (Consul's Definition field).
type HealthCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	TTL                            string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	DisableRedirects               bool                `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	H2PingUseTLS                   bool                `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	DockerContainerID              string              `json:",omitempty"`
	Shell                          string              `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	OutputMaxSize                  int                 `json:",omitempty"`
}

// HealthCheck is a catalog check (/v1/health/...).
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	// The fields below are not selectable in a ?filter (as in Consul).
	Type        string                `bexpr:"-"`
	Interval    string                `bexpr:"-"`
	Timeout     string                `bexpr:"-"`
	ExposedPort int                   `bexpr:"-"`
	Definition  HealthCheckDefinition `bexpr:"-"`
	CreateIndex uint64                `bexpr:"-"`
	ModifyIndex uint64                `bexpr:"-"`
}

// HealthChecks is a list of checks.
type HealthChecks []*HealthCheck

// CheckServiceNode is one row of /v1/health/service/<name>.
type CheckServiceNode struct {
	Node    *Node
	Service *NodeService
	Checks  HealthChecks
}

// CheckServiceNodes is a list of service instances with their health.
type CheckServiceNodes []CheckServiceNode

// AggregatedStatus is the worst status among checks (critical > warning >
// passing); no checks count as passing.
func (c HealthChecks) AggregatedStatus() string {
	status := HealthPassing
	for _, chk := range c {
		switch chk.Status {
		case HealthCritical, HealthMaint:
			return HealthCritical
		case HealthWarning:
			status = HealthWarning
		}
	}
	return status
}

// RegisterRequest is PUT /v1/catalog/register and the CatalogRegister command.
type RegisterRequest struct {
	Datacenter      string
	ID              string
	Node            string
	Address         string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string
	Service         *NodeService
	Check           *HealthCheck
	Checks          HealthChecks
	SkipNodeUpdate  bool
}

// DeregisterRequest is PUT /v1/catalog/deregister and the CatalogDeregister
// command: with neither ServiceID nor CheckID it removes the whole node.
type DeregisterRequest struct {
	Datacenter string
	Node       string
	ServiceID  string
	CheckID    string
}

// The service every server registers for itself (the leader writes it
// from gossip, as Consul's leader does): consul.service.consul finds the
// servers. Agents' anti-entropy never touches it.
const (
	ConsulServiceID   = "consul"
	ConsulServiceName = "consul"
)

// Node meta keys Consul sets on every agent's node.
const (
	MetaSegment       = "consul-network-segment"
	MetaConsulVersion = "consul-version"
)

// ServiceTagSets collects each service name's tags (the union over its
// instances) for /v1/catalog/services.
type ServiceTagSets map[string]map[string]struct{}

// Add records an instance of name with tags.
func (s ServiceTagSets) Add(name string, tags []string) {
	set := s[name]
	if set == nil {
		set = map[string]struct{}{}
		s[name] = set
	}
	for _, t := range tags {
		set[t] = struct{}{}
	}
}

// Sorted is the answer: name -> sorted tags ([] for none).
func (s ServiceTagSets) Sorted() map[string][]string {
	out := make(map[string][]string, len(s))
	for name, set := range s {
		tags := make([]string, 0, len(set))
		for t := range set {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		out[name] = tags
	}
	return out
}
