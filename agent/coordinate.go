package agent

import (
	"context"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// defaultCoordinateInterval is how often an agent sends its coordinate to
// the servers (Consul's sync_coordinate_interval_min).
const defaultCoordinateInterval = 15 * time.Second

// Coordinate is this agent's network coordinate.
func (a *Agent) Coordinate() *structs.Coordinate { return a.members.Coordinate() }

// CoordinateDatacenters is /v1/coordinate/datacenters: minconsul has one
// datacenter and no WAN pool, so it lists the alive servers' stored LAN
// coordinates under Consul's WAN names ("node.dc").
func (a *Agent) CoordinateDatacenters(ctx context.Context) ([]structs.CoordinateDatacenterMap, error) {
	res, err := a.backend.Coordinates(ctx, &structs.DCSpecificRequest{QueryOptions: structs.QueryOptions{Consistency: structs.ConsistencyStale}})
	if err != nil {
		return nil, err
	}
	servers := map[string]bool{}
	for _, n := range a.members.ServerNames() {
		servers[strings.ToLower(n)] = true
	}
	dc := structs.CoordinateDatacenterMap{Datacenter: a.cfg.Datacenter, AreaID: "wan", Coordinates: structs.Coordinates{}}
	for _, e := range res.Value {
		if servers[strings.ToLower(e.Node)] {
			dc.Coordinates = append(dc.Coordinates, &structs.CoordinateEntry{Node: e.Node + "." + a.cfg.Datacenter, Coord: e.Coord})
		}
	}
	sort.Slice(dc.Coordinates, func(i, j int) bool { return dc.Coordinates[i].Node < dc.Coordinates[j].Node })
	return []structs.CoordinateDatacenterMap{dc}, nil
}

// coordinateLoop sends this agent's coordinate to the servers every
// interval (with up to 10 % jitter, so agents spread out) until ctx ends.
// A failed send waits for the next round.
func (a *Agent) coordinateLoop(ctx context.Context) {
	interval := a.cfg.CoordinateInterval
	switch {
	case interval > 0:
	case a.cfg.GossipFast:
		interval = 300 * time.Millisecond // tests
	default:
		interval = defaultCoordinateInterval
	}
	for {
		wait := interval + rand.N(interval/10+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		c := a.members.Coordinate()
		if c == nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, interval)
		_, _, err := a.backend.Apply(sctx, structs.Command{Type: structs.CoordinateBatchUpdate,
			Coordinates: structs.Coordinates{{Node: a.cfg.NodeName, Coord: c}}})
		cancel()
		if err != nil && ctx.Err() == nil {
			a.logger.Debug("coordinate update failed", "error", err)
		}
	}
}
