package httpapi

import (
	"context"

	"github.com/minconsul/minconsul/structs"
)

// The fake agent has no maintenance mode nor local health; those
// endpoints are tested against real agents (agent/checks_test.go).

func (a *fakeAgent) EnableNodeMaintenance(context.Context, string) {}
func (a *fakeAgent) DisableNodeMaintenance(context.Context)        {}
func (a *fakeAgent) EnableServiceMaintenance(context.Context, string, string) error {
	return structs.NotFound("no maintenance on the fake agent")
}
func (a *fakeAgent) DisableServiceMaintenance(context.Context, string) error {
	return structs.NotFound("no maintenance on the fake agent")
}
func (a *fakeAgent) ServiceHealthByID(string) *structs.AgentServiceChecksInfo { return nil }
func (a *fakeAgent) ServiceHealthByName(string) []*structs.AgentServiceChecksInfo {
	return nil
}
