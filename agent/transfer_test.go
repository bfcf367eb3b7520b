package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/testutil"
	"github.com/minconsul/minconsul/testutil/testagent"
)

// transfer-leader through a follower hands leadership to the named server,
// or without an ID to another one; an unknown ID is refused. force-leave
// of an unknown node is an error.
func TestOperator_TransferLeader(t *testing.T) {
	agents := testagent.StartCluster(t, 3)
	leader := testagent.Leader(t, agents)
	followers := testagent.Followers(agents, leader)
	c := followers[0].Client(t)
	target := followers[1]
	res, err := c.Operator().RaftLeaderTransfer(target.Config.NodeID, nil)
	if err != nil || !res.Success {
		t.Fatalf("transfer to %s: %+v %v", target.NodeName(), res, err)
	}
	testutil.Retry(t, 15*time.Second, func() error {
		if !target.IsLeader() {
			return fmt.Errorf("%s does not lead", target.NodeName())
		}
		return nil
	})
	res, err = c.Operator().RaftLeaderTransfer("", nil)
	if err != nil || !res.Success {
		t.Fatalf("transfer to any: %+v %v", res, err)
	}
	testutil.Retry(t, 15*time.Second, func() error {
		if target.IsLeader() {
			return fmt.Errorf("%s still leads", target.NodeName())
		}
		if testagent.Leader(t, agents) == nil {
			return fmt.Errorf("no leader")
		}
		return nil
	})
	// force-leave of a name gossip does not know is Consul's error.
	if err := c.Agent().ForceLeave("ghost"); err == nil || !strings.Contains(err.Error(), "500 (agent: No node found with name 'ghost')") {
		t.Fatalf("force-leave ghost: %v", err)
	}
	_, err = c.Operator().RaftLeaderTransfer("nope", nil)
	if err == nil || !strings.Contains(err.Error(), `500 (id "nope" was not found in the Raft configuration)`) {
		t.Fatalf("unknown id: %v", err)
	}
}
