package structs

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
	CreateIndex     uint64
	ModifyIndex     uint64
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
// Consul's shape ("Proxy":{"MeshGateway":{},"Expose":{}},"Connect":{}).
type ServiceProxy struct {
	MeshGateway struct{}
	Expose      struct{}
}

// ServiceConnect: see ServiceProxy.
type ServiceConnect struct{}

// NodeService is a service instance on a node, as the catalog stores it.
type NodeService struct {
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
	CreateIndex       uint64
	ModifyIndex       uint64
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
	CreateIndex              uint64
	ModifyIndex              uint64
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
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	Definition  HealthCheckDefinition
	CreateIndex uint64
	ModifyIndex uint64
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
