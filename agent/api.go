package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/minconsul/minconsul/structs"
)

// The local agent's endpoints (/v1/agent/*; the registrar calls the
// service and TTL ones too). A write changes the local state and syncs
// the change before it returns, so the catalog has it when the call
// answers (as Consul's handlers do); if that sync fails, anti-entropy
// retries.

// ServiceRegister validates a definition, records it with its checks
// (replacing an earlier registration with the same ID) and syncs it.
func (a *Agent) ServiceRegister(ctx context.Context, def *structs.ServiceDefinition, replaceExistingChecks bool) error {
	if err := a.local.AddService(def, replaceExistingChecks, false); err != nil {
		return err
	}
	a.sync.SyncChanges(ctx)
	return nil
}

// ServiceDeregister removes a local service and its checks.
func (a *Agent) ServiceDeregister(ctx context.Context, id string) error {
	if err := a.local.RemoveService(id); err != nil {
		return err
	}
	a.sync.SyncChanges(ctx)
	return nil
}

// CheckRegister adds a node-level or service-level check.
func (a *Agent) CheckRegister(ctx context.Context, def *structs.CheckDefinition) error {
	if err := a.local.AddCheck(def, false); err != nil {
		return err
	}
	a.sync.SyncChanges(ctx)
	return nil
}

// CheckDeregister removes a local check.
func (a *Agent) CheckDeregister(ctx context.Context, id string) error {
	if err := a.local.RemoveCheck(id); err != nil {
		return err
	}
	a.sync.SyncChanges(ctx)
	return nil
}

// CheckUpdateTTL records a TTL check's status (check/pass|warn|fail|update).
func (a *Agent) CheckUpdateTTL(ctx context.Context, id, status, output string) error {
	changed, err := a.local.UpdateTTL(id, status, output)
	if err != nil {
		return err
	}
	if changed {
		a.sync.SyncChanges(ctx)
	}
	return nil
}

// Services lists local services as /v1/agent/services shows them.
func (a *Agent) Services() map[string]*structs.AgentService { return a.local.Services() }

// Service returns one local service.
func (a *Agent) Service(id string) (*structs.AgentService, error) { return a.local.Service(id) }

// Checks lists local checks.
func (a *Agent) Checks() map[string]*structs.HealthCheck { return a.local.Checks() }

// Members lists the LAN gossip members.
func (a *Agent) Members() []structs.AgentMember { return a.members.Members() }

// Join joins the LAN pool through addr (host or host:port).
func (a *Agent) Join(ctx context.Context, addr string, wan bool) (int, error) {
	return a.members.Join(ctx, addr, wan)
}

// ForceLeave moves a failed member to left, so the leader removes it from
// the catalog (and from Raft, for a server).
func (a *Agent) ForceLeave(ctx context.Context, node string) error {
	return a.members.ForceLeave(ctx, node)
}

// Reload re-reads the configuration and applies what can change at run
// time: config-file services and checks, and the log level.
func (a *Agent) Reload(ctx context.Context) error {
	if a.cfg.Reload == nil {
		return errors.New("reload is not available: the agent was not started from config files or flags")
	}
	next, err := a.cfg.Reload()
	if err != nil {
		return fmt.Errorf("Failed reloading config: %w", err)
	}
	if next.LogLevel != "" && a.cfg.SetLogLevel != nil {
		a.cfg.SetLogLevel(next.LogLevel)
	}
	if err := a.local.Reload(next.Services, next.Checks); err != nil {
		return err
	}
	a.cfg.Services, a.cfg.Checks = next.Services, next.Checks
	a.sync.SyncChanges(ctx)
	a.logger.Info("configuration reloaded")
	return nil
}

// Keyring runs a gossip keyring operation ("list", "install", "use",
// "remove") across the LAN pool (/v1/operator/keyring, `keyring`).
func (a *Agent) Keyring(ctx context.Context, op, key string) ([]*structs.KeyringResponse, error) {
	// Errors are 500s, as Consul's keyring endpoint answers them (also
	// membership.ErrNoEncryption).
	res, err := a.members.KeyringOp(op, key)
	if err != nil {
		return nil, err
	}
	return []*structs.KeyringResponse{res}, nil
}

// EnableNodeMaintenance puts this node in maintenance mode: a critical
// "_node_maintenance" check with reason as its notes.
func (a *Agent) EnableNodeMaintenance(ctx context.Context, reason string) {
	a.local.EnableNodeMaintenance(reason)
	a.sync.SyncChanges(ctx)
}

// DisableNodeMaintenance ends node maintenance.
func (a *Agent) DisableNodeMaintenance(ctx context.Context) {
	a.local.DisableNodeMaintenance()
	a.sync.SyncChanges(ctx)
}

// EnableServiceMaintenance puts a local service in maintenance mode.
func (a *Agent) EnableServiceMaintenance(ctx context.Context, id, reason string) error {
	if err := a.local.EnableServiceMaintenance(id, reason); err != nil {
		return err
	}
	a.sync.SyncChanges(ctx)
	return nil
}

// DisableServiceMaintenance ends a local service's maintenance.
func (a *Agent) DisableServiceMaintenance(ctx context.Context, id string) error {
	if err := a.local.DisableServiceMaintenance(id); err != nil {
		return err
	}
	a.sync.SyncChanges(ctx)
	return nil
}

// ServiceHealthByID is one local service's health (nil when unknown), from
// the local state, as /v1/agent/health/service/id answers it.
func (a *Agent) ServiceHealthByID(id string) *structs.AgentServiceChecksInfo {
	return a.local.HealthByID(id)
}

// ServiceHealthByName is the health of every local instance of a service.
func (a *Agent) ServiceHealthByName(name string) []*structs.AgentServiceChecksInfo {
	return a.local.HealthByName(name)
}
