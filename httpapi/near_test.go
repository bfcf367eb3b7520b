package httpapi

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/serf/coordinate"

	"github.com/minconsul/minconsul/structs"
)

func nearFixture(n int) (map[string]*structs.Coordinate, structs.Nodes) {
	rng := rand.New(rand.NewPCG(1, 2))
	coords := map[string]*structs.Coordinate{}
	nodes := make(structs.Nodes, 0, n)
	for i := range n {
		name := fmt.Sprintf("node-%04d", i)
		c := coordinate.NewCoordinate(coordinate.DefaultConfig())
		for d := range c.Vec {
			c.Vec[d] = rng.Float64() * 0.1
		}
		if i%10 != 9 { // every tenth node has no coordinate
			coords[strings.ToLower(name)] = c
		}
		nodes = append(nodes, &structs.Node{Node: name})
	}
	rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	return coords, nodes
}

func TestSortByRTT(t *testing.T) {
	coords, nodes := nearFixture(200)
	src := coords["node-0000"]
	sortByRTT(coords, src, nodes, func(n *structs.Node) string { return n.Node })
	if nodes[0].Node != "node-0000" {
		t.Fatalf("first %s, want the source itself", nodes[0].Node)
	}
	prev := -1.0
	for i, n := range nodes {
		d := structs.RTT(src, coords[strings.ToLower(n.Node)])
		if d < prev {
			t.Fatalf("not sorted at %d", i)
		}
		prev = d
	}
	// Without a source nothing moves.
	before := slices.Clone(nodes)
	sortByRTT(coords, nil, nodes, func(n *structs.Node) string { return n.Node })
	if !slices.Equal(before, nodes) {
		t.Fatal("nil source reordered")
	}
}

// BenchmarkNearSort sorts 1,000 nodes by RTT from one of them (what ?near
// adds to a read once the coordinates are in hand), next to sorting the
// same nodes by name as the same-run baseline.
func BenchmarkNearSort(b *testing.B) {
	coords, nodes := nearFixture(1000)
	src := coords["node-0000"]
	work := make(structs.Nodes, len(nodes))
	b.Run("by-name-baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			copy(work, nodes)
			sort.SliceStable(work, func(x, y int) bool { return work[x].Node < work[y].Node })
		}
	})
	list := structs.Coordinates{}
	for n, c := range coords {
		list = append(list, &structs.CoordinateEntry{Node: n, Coord: c})
	}
	b.Run("near-with-map", func(b *testing.B) {
		// As the handler does it: the map from the coordinates read, then
		// the sort.
		for i := 0; i < b.N; i++ {
			copy(work, nodes)
			m := make(map[string]*structs.Coordinate, len(list))
			for _, e := range list {
				m[strings.ToLower(e.Node)] = e.Coord
			}
			sortByRTT(m, m["node-0000"], work, func(n *structs.Node) string { return n.Node })
		}
	})
	b.Run("near", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			copy(work, nodes)
			sortByRTT(coords, src, work, func(n *structs.Node) string { return n.Node })
		}
	})
}
