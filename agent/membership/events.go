package membership

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/serf/coordinate"
	"github.com/hashicorp/serf/serf"
)

// userEventPrefix names Consul's user events in the LAN pool, as Consul's
// agents name them, so serf's own events of other uses never mix in.
const userEventPrefix = "consul:event:"

// FireUserEvent gossips an encoded user event to every member, this agent
// included. A lone -dev agent (no gossip) delivers it to itself.
func (ms *Membership) FireUserEvent(name string, payload []byte) error {
	if ms.serf == nil {
		if ms.deps.UserEvent != nil {
			ms.deps.UserEvent(payload, ms.loneLTime.Add(1))
		}
		return nil
	}
	if err := ms.serf.UserEvent(userEventPrefix+name, payload, false); err != nil {
		return fmt.Errorf("fire event %q: %w", name, err)
	}
	return nil
}

func (ms *Membership) onUserEvent(ue serf.UserEvent) {
	if !strings.HasPrefix(ue.Name, userEventPrefix) || ms.deps.UserEvent == nil {
		return
	}
	ms.deps.UserEvent(ue.Payload, uint64(ue.LTime))
}

// Stats is the serf_lan section of /v1/agent/self's Stats (serf's own
// counters); a lone agent reports itself as its only member.
func (ms *Membership) Stats() map[string]string {
	if ms.serf == nil {
		return map[string]string{"members": "1", "failed": "0", "left": "0", "health_score": "0",
			"member_time": "1", "event_time": strconv.FormatUint(ms.loneLTime.Load()+1, 10), "query_time": "1",
			"intent_queue": "0", "event_queue": "0", "query_queue": "0", "encrypted": "false", "coordinate_resets": "0"}
	}
	return ms.serf.Stats()
}

// Coordinate is this agent's network coordinate: serf's Vivaldi estimate,
// or for a lone agent (no gossip, nobody to measure) the origin.
func (ms *Membership) Coordinate() *coordinate.Coordinate {
	if ms.serf == nil {
		return coordinate.NewCoordinate(coordinate.DefaultConfig())
	}
	c, err := ms.serf.GetCoordinate()
	if err != nil {
		return nil
	}
	return c
}

// ServerNames lists the alive servers' node names (this one included).
func (ms *Membership) ServerNames() []string {
	if ms.serf == nil {
		if ms.cfg.Server {
			return []string{ms.cfg.NodeName}
		}
		return nil
	}
	var out []string
	for _, m := range ms.serverMembers() {
		if m.status == serf.StatusAlive {
			out = append(out, m.name)
		}
	}
	return out
}
