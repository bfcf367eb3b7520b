package structs

import (
	"regexp"
	"testing"

	"github.com/hashicorp/consul/api"
)

var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// EventIndex never panics, and on every UUID-shaped ID agrees with
// consul/api's IDToIndex (which clients use to follow an event list).
func FuzzEventIndex(f *testing.F) {
	for _, s := range []string{"b54fe110-7af5-cafc-d1fb-afc8ba432b1c", "", "x", "zzzzzzzz-7af5-cafc-d1fb-afc8ba432b1c",
		"+0000000-0000-0000-0000-000000000000"} {
		f.Add(s)
	}
	c, _ := api.NewClient(api.DefaultConfig())
	f.Fuzz(func(t *testing.T, id string) {
		got := EventIndex(id)
		if uuidShape.MatchString(id) {
			if want := c.Event().IDToIndex(id); got != want {
				t.Fatalf("%q: %d, want %d", id, got, want)
			}
		}
	})
}
