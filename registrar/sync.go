package registrar

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"github.com/minconsul/minconsul/structs"
)

// opTimeout bounds one Docker or agent call made for one container.
const opTimeout = 30 * time.Second

// worker handles queued containers until the queue closes. A failure is
// retried with backoff while the engine answers; without one, the next
// reconcile (after the reconnect) looks at every container anyway.
func (r *Registrar) worker() {
	defer r.wg.Done()
	for {
		it, ok := r.q.get()
		if !ok {
			return
		}
		id := it.id
		r.syncMu.RLock()
		var err error
		if it.gone && !r.cfg.DeregisterOnSuccess {
			err = r.removeContainer(it.id, it.name)
		} else {
			err = r.syncContainer(it.id)
		}
		r.syncMu.RUnlock()
		r.q.done(id)
		r.mu.Lock()
		if err == nil {
			delete(r.retries, id)
			r.mu.Unlock()
			continue
		}
		n := r.retries[id]
		r.retries[id] = n + 1
		connected := r.docker != nil
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			continue
		}
		r.setError(err)
		if !connected {
			continue
		}
		d := r.backoff(n)
		r.logger.Warn("container sync failed; will retry", "container", shortID(id), "retry_in", d, "error", err)
		r.q.addAfter(id, d)
	}
}

// syncContainer makes the agent hold exactly the registrations container
// id should have now.
func (r *Registrar) syncContainer(id string) error {
	cli := r.client()
	if cli == nil {
		return errors.New("not connected to Docker")
	}
	ctx, cancel := context.WithTimeout(r.ctx, opTimeout)
	defer cancel()
	c, err := cli.ContainerInspect(ctx, id)
	var want []*service
	name := ""
	switch {
	case errdefs.IsNotFound(err):
		// Gone (or removed while we asked): nothing should stay.
	case err != nil:
		return fmt.Errorf("inspect: %w", err)
	default:
		name = strings.TrimPrefix(c.Name, "/")
		if c.State != nil && !c.State.Running && r.keepAfterExit(c.State) {
			r.logger.Debug("keeping services of a failed container (-deregister on-success)",
				"container", shortID(id), "name", name, "exit_code", c.State.ExitCode)
			return nil
		}
		var netC *container.InspectResponse
		if c.HostConfig != nil && c.HostConfig.NetworkMode.IsContainer() && c.State != nil && c.State.Running {
			if nc, err := cli.ContainerInspect(ctx, c.HostConfig.NetworkMode.ConnectedContainer()); err == nil {
				netC = &nc
			}
		}
		var warns []string
		want, warns = r.build.build(&c, netC)
		r.logWarnings(id, name, warns)
	}
	if err := r.apply(ctx, id, name, want); err != nil {
		return err
	}
	r.logger.Debug("container handled", "container", shortID(id), "name", name, "services", len(want))
	return nil
}

// removeContainer drops the services of a container an event said has
// stopped (-deregister on-success needs the exit code: it inspects).
func (r *Registrar) removeContainer(id, name string) error {
	ctx, cancel := context.WithTimeout(r.ctx, opTimeout)
	defer cancel()
	if err := r.apply(ctx, id, name, nil); err != nil {
		return err
	}
	r.logger.Debug("container handled", "container", shortID(id), "name", name, "services", 0)
	return nil
}

// keepAfterExit is registrator's -deregister on-success: a non-zero exit
// not caused by a signal keeps the services.
func (r *Registrar) keepAfterExit(st *container.State) bool {
	return r.cfg.DeregisterOnSuccess && st.ExitCode != 0 && st.ExitCode&128 == 0 && !st.Restarting
}

// logWarnings logs a container's warnings once (events re-inspect it).
func (r *Registrar) logWarnings(id, name string, warns []string) {
	joined := strings.Join(warns, "\n")
	r.mu.Lock()
	same := r.warned[id] == joined
	r.warned[id] = joined
	r.mu.Unlock()
	if same {
		return
	}
	for _, w := range warns {
		r.logger.Warn(w, "container", shortID(id), "name", name)
	}
}

// apply deregisters what the container no longer has, registers what is
// new or changed, and writes health changes. Unchanged services are left
// alone (no flapping of their checks).
func (r *Registrar) apply(ctx context.Context, id, name string, want []*service) error {
	wanted := map[string]*service{}
	for _, s := range want {
		wanted[s.def.ID] = s
	}
	r.mu.Lock()
	var stale []string
	for sid, rec := range r.owned {
		if rec.containerID == id && wanted[sid] == nil {
			stale = append(stale, sid)
		}
	}
	r.mu.Unlock()
	sort.Strings(stale)
	var firstErr error
	for _, sid := range stale {
		if err := r.agent.ServiceDeregister(ctx, sid); err != nil && !isNotFound(err) {
			firstErr = cmpErr(firstErr, fmt.Errorf("deregister %s: %w", sid, err))
			continue
		}
		r.mu.Lock()
		if rec := r.owned[sid]; rec != nil && rec.containerID == id {
			delete(r.owned, sid)
		}
		r.mu.Unlock()
		r.logger.Info("deregistered", "service", sid, "container", shortID(id), "name", name)
	}
	if len(want) == 0 {
		r.mu.Lock()
		delete(r.warned, id)
		r.mu.Unlock()
	}
	for _, s := range want {
		if err := r.ensure(ctx, id, name, s); err != nil {
			firstErr = cmpErr(firstErr, err)
		}
	}
	return firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// ensure registers s unless the agent already holds it unchanged, then
// brings its mirror check to the container's health.
func (r *Registrar) ensure(ctx context.Context, id, name string, s *service) error {
	v := viewOfDef(s.def)
	r.mu.Lock()
	rec := r.owned[s.def.ID]
	same := rec != nil && rec.containerID == id && rec.view.equal(v)
	pushHealth := same && s.healthCheck != "" && rec.health != s.health
	if same {
		rec.healthCheck = s.healthCheck
	}
	r.mu.Unlock()
	if same && !pushHealth {
		return nil
	}
	if pushHealth {
		err := r.agent.CheckUpdateTTL(ctx, s.healthCheck, s.health, s.healthOutput)
		if err == nil {
			r.mu.Lock()
			if cur := r.owned[s.def.ID]; cur == rec {
				cur.health = s.health
			}
			r.mu.Unlock()
			r.logger.Info("health changed", "service", s.def.ID, "status", s.health, "container", shortID(id), "name", name)
			return nil
		}
		if !isNotFound(err) {
			return fmt.Errorf("update health of %s: %w", s.def.ID, err)
		}
		// The check is missing (registered by an older version, or removed
		// by hand): register the service again with it.
	}
	def := s.def
	err := r.agent.ServiceRegister(ctx, def, true)
	if errors.Is(err, structs.ErrBadRequest) && hasLabelCheck(def) {
		// A check the agent refuses (script checks disabled, ...) must not
		// cost the service: register it with the mirror check only.
		r.logger.Warn("agent refused the SERVICE_CHECK_* check; registering without it",
			"service", def.ID, "container", shortID(id), "name", name, "error", err)
		def = withoutLabelCheck(def)
		err = r.agent.ServiceRegister(ctx, def, true)
	}
	if errors.Is(err, structs.ErrBadRequest) {
		// Retrying cannot help; the next event or reconcile tries again.
		r.logger.Warn("agent refused the registration; skipped", "service", def.ID,
			"container", shortID(id), "name", name, "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("register %s: %w", def.ID, err)
	}
	r.mu.Lock()
	r.owned[def.ID] = &record{containerID: id, view: v, healthCheck: s.healthCheck, health: s.health}
	r.mu.Unlock()
	r.logger.Info("registered", "service", def.ID, "name", def.Name, "address", def.Address, "port", def.Port,
		"container", shortID(id), "container_name", name)
	return nil
}

func hasLabelCheck(def *structs.ServiceDefinition) bool {
	for _, c := range def.Checks {
		if !strings.HasSuffix(c.CheckID, ":docker-health") {
			return true
		}
	}
	return false
}

func withoutLabelCheck(def *structs.ServiceDefinition) *structs.ServiceDefinition {
	d := *def
	d.Checks = nil
	for _, c := range def.Checks {
		if strings.HasSuffix(c.CheckID, ":docker-health") {
			d.Checks = append(d.Checks, c)
		}
	}
	return &d
}

func isNotFound(err error) bool { return errors.Is(err, structs.ErrNotFound) }

// view is what the agent shows of a service, compared to decide whether a
// registration must be written again.
type view struct {
	name, address string
	port          int
	tags          []string
	meta          map[string]string
	tagged        map[string]structs.ServiceAddress
}

func viewOfDef(d *structs.ServiceDefinition) view {
	return view{name: d.Name, address: d.Address, port: d.Port, tags: d.Tags, meta: d.Meta, tagged: d.TaggedAddresses}
}

func viewOfAgent(s *structs.AgentService) view {
	return view{name: s.Service, address: s.Address, port: s.Port, tags: s.Tags, meta: s.Meta, tagged: s.TaggedAddresses}
}

// equal reports whether the held registration a matches the wanted b.
// Tagged addresses b does not set are ignored: Consul adds lan_ipv4 and
// wan_ipv4 of its own.
func (a view) equal(b view) bool {
	if a.name != b.name || a.address != b.address || a.port != b.port ||
		!slices.Equal(a.tags, b.tags) || !maps.Equal(a.meta, b.meta) {
		return false
	}
	for k, v := range b.tagged {
		if a.tagged[k] != v {
			return false
		}
	}
	return true
}
