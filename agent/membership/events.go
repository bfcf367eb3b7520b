package membership

import (
	"fmt"
	"strings"

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
