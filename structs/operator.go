package structs

// RaftServer is one entry of /v1/operator/raft/configuration.
type RaftServer struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
	LastIndex       uint64
}

// RaftConfigurationResponse is /v1/operator/raft/configuration.
type RaftConfigurationResponse struct {
	Servers []*RaftServer
	Index   uint64
}

// KeyringResponse is one pool's answer to a keyring operation
// (GET /v1/operator/keyring lists one per pool; minconsul has only LAN).
type KeyringResponse struct {
	WAN         bool
	Datacenter  string
	Segment     string
	Partition   string `json:",omitempty"`
	Messages    map[string]string
	Keys        map[string]int
	PrimaryKeys map[string]int
	NumNodes    int
}
