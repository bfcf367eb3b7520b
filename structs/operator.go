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
