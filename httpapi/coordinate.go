package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/minconsul/minconsul/structs"
)

// CoordinateAgent is what the local agent knows of coordinates: its own
// (?near=_agent, PUT /v1/coordinate/update's compatibility check) and the
// servers' (/v1/coordinate/datacenters).
type CoordinateAgent interface {
	NodeName() string
	Coordinate() *structs.Coordinate
	CoordinateDatacenters(ctx context.Context) ([]structs.CoordinateDatacenterMap, error)
}

// coordinateDatacenters is GET /v1/coordinate/datacenters.
func (s *Server) coordinateDatacenters(q *request) error {
	dcs, err := s.cfg.Coordinates.CoordinateDatacenters(q.r.Context())
	if err != nil {
		return err
	}
	return writeJSON(q, dcs)
}

// coordinateNodes is GET /v1/coordinate/nodes (blocking).
func (s *Server) coordinateNodes(q *request) error {
	coords, _, err := read(s, q, &structs.DCSpecificRequest{}, s.backend.Coordinates)
	if err != nil {
		return err
	}
	return writeJSON(q, coords)
}

// coordinateNode is GET /v1/coordinate/node/<node>: its coordinates, or a
// bare 404 when it has none (as Consul).
func (s *Server) coordinateNode(q *request) error {
	if q.tail == "" {
		return badRequest("Missing node name")
	}
	coords, _, err := read(s, q, &structs.NodeSpecificRequest{Node: q.tail}, s.backend.NodeCoordinate)
	if err != nil {
		return err
	}
	if len(coords) == 0 {
		q.w.WriteHeader(http.StatusNotFound)
		return nil
	}
	return writeJSON(q, coords)
}

// coordinateUpdate is PUT /v1/coordinate/update: a node's coordinate,
// checked as Consul checks it, replicated.
func (s *Server) coordinateUpdate(q *request) error {
	var e structs.CoordinateEntry
	if err := decodeBody(q.r.Body, &e); err != nil {
		return err
	}
	if e.Node == "" {
		return badRequest("Missing node name")
	}
	if e.Coord == nil || !e.Coord.IsValid() {
		return errors.New("invalid coordinate")
	}
	if own := s.cfg.Coordinates.Coordinate(); own != nil && !own.IsCompatibleWith(e.Coord) {
		return errors.New("incompatible coordinate")
	}
	_, _, err := s.backend.Apply(q.r.Context(), structs.Command{Type: structs.CoordinateBatchUpdate, Coordinates: structs.Coordinates{&e}})
	return err
}

// nearSort orders rows by estimated round trip from ?near's node (its
// name, or "_agent" for this agent's), as Consul sorts catalog and health
// answers: rows whose node has no coordinate go last, in their order; a
// source without a coordinate leaves the order alone.
func nearSort[T any](s *Server, q *request, rows []T, node func(T) string) error {
	near := q.query.Get("near")
	if near == "" || len(rows) < 2 || s.cfg.Coordinates == nil {
		return nil
	}
	if near == "_agent" {
		near = s.cfg.Coordinates.NodeName()
	}
	coords, err := s.coordinateMap(q.r.Context())
	if err != nil {
		return err
	}
	sortByRTT(coords, coords[strings.ToLower(near)], rows, node)
	return nil
}

// coordinateMap reads every node's coordinate (a stale read: sorting needs
// no linearizable coordinates), by lower-cased node name.
func (s *Server) coordinateMap(ctx context.Context) (map[string]*structs.Coordinate, error) {
	res, err := s.backend.Coordinates(ctx, &structs.DCSpecificRequest{QueryOptions: structs.QueryOptions{Consistency: structs.ConsistencyStale}})
	if err != nil {
		return nil, err
	}
	m := make(map[string]*structs.Coordinate, len(res.Value))
	for _, e := range res.Value {
		m[strings.ToLower(e.Node)] = e.Coord
	}
	return m, nil
}

// sortByRTT sorts rows by the RTT from src to each row's node coordinate,
// stably; nothing moves when src is nil.
func sortByRTT[T any](coords map[string]*structs.Coordinate, src *structs.Coordinate, rows []T, node func(T) string) {
	if src == nil {
		return
	}
	dist := make([]float64, len(rows))
	idx := make([]int, len(rows))
	for i, r := range rows {
		dist[i] = structs.RTT(src, coords[strings.ToLower(node(r))])
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return dist[idx[a]] < dist[idx[b]] })
	sorted := make([]T, len(rows))
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
}

// checkNode names a check's node for nearSort.
func checkNode(c *structs.HealthCheck) string { return c.Node }
