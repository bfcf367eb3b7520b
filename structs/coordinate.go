package structs

import (
	"math"

	"github.com/hashicorp/serf/coordinate"
)

// Coordinate is a node's network coordinate (serf's Vivaldi coordinate).
type Coordinate = coordinate.Coordinate

// CoordinateEntry is one node's LAN coordinate (consul/api's
// CoordinateEntry): what /v1/coordinate/nodes lists, what agents send to
// the servers and what the coordinates table stores.
type CoordinateEntry struct {
	Node      string
	Segment   string
	Partition string `json:",omitempty"`
	Coord     *Coordinate
}

// Coordinates is a list of node coordinates.
type Coordinates []*CoordinateEntry

// CoordinateDatacenterMap is one entry of /v1/coordinate/datacenters.
type CoordinateDatacenterMap struct {
	Datacenter  string
	AreaID      string
	Coordinates Coordinates
}

// CoordinateBatchUpdate (in the reserved range 20-29 of this part) stores
// node coordinates: Command.Coordinates. Updates for nodes missing from
// the catalog are dropped, as Consul's.
const CoordinateBatchUpdate CommandType = 20

// RTT is the estimated round trip between two coordinates in seconds, or
// +Inf when either is missing or they cannot be compared (Consul's
// lib.ComputeDistance).
func RTT(a, b *Coordinate) float64 {
	if a == nil || b == nil || !a.IsCompatibleWith(b) {
		return math.Inf(1)
	}
	return a.DistanceTo(b).Seconds()
}
