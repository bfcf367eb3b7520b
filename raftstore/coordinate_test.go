package raftstore

import (
	"bytes"
	"io"
	"math"
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/serf/coordinate"

	"github.com/minconsul/minconsul/structs"
)

func testCoord(x float64) *structs.Coordinate {
	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c.Vec[0] = x
	return c
}

// Coordinates are stored for catalog nodes only, wake their watchers,
// survive a snapshot and go with the node.
func TestCoordinates_UpdateSnapshotDeregister(t *testing.T) {
	h := newHarness(t)
	h.register(regService("n1", "10.0.0.1", "web", "web", 80))
	ws := memdb.NewWatchSet()
	idx0, list, err := h.state().Coordinates(ws, &structs.DCSpecificRequest{})
	if err != nil || len(list) != 0 {
		t.Fatalf("empty: %v %v", list, err)
	}
	idx, _ := h.mustApply(structs.Command{Type: structs.CoordinateBatchUpdate, Coordinates: structs.Coordinates{
		{Node: "N1", Coord: testCoord(0.1)}, {Node: "ghost", Coord: testCoord(0.2)}}})
	if !fired(ws, mustFire) {
		t.Fatal("coordinates watch did not fire")
	}
	got, list, err := h.state().Coordinates(nil, &structs.DCSpecificRequest{})
	if err != nil || len(list) != 1 || list[0].Node != "n1" || list[0].Coord.Vec[0] != 0.1 || got != idx || got <= idx0 {
		t.Fatalf("after update: %d %+v %v", got, list, err)
	}
	if _, _, err := h.apply(structs.Command{Type: structs.CoordinateBatchUpdate, Coordinates: structs.Coordinates{
		{Node: "n1", Coord: &structs.Coordinate{Vec: []float64{math.NaN()}}}}}); !isBadRequest(err) {
		t.Fatalf("invalid coordinate: %v", err)
	}

	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t)
	if err := h2.fsm.Restore(io.NopCloser(bytes.NewReader(persist(t, snap)))); err != nil {
		t.Fatal(err)
	}
	if _, list, _ := h2.state().NodeCoordinate(nil, &structs.NodeSpecificRequest{Node: "n1"}); len(list) != 1 || list[0].Coord.Vec[0] != 0.1 {
		t.Fatalf("restored: %+v", list)
	}

	h.deregister(&structs.DeregisterRequest{Node: "n1"})
	if _, list, _ := h.state().Coordinates(nil, &structs.DCSpecificRequest{}); len(list) != 0 {
		t.Fatalf("coordinate outlived its node: %+v", list)
	}
}
