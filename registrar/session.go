package registrar

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// followedActions are the container events that can change what a
// container should have registered. Exec and attach events (a HEALTHCHECK
// probe makes two every interval) are filtered out by the engine, so an
// idle host wakes the registrar for nothing.
func followedActions() []string {
	return []string{"start", "die", "stop", "kill", "destroy", "pause", "unpause", "health_status", "rename"}
}

// Ping connects to the engine at host ("" as Config.DockerHost) and
// returns the API version the two agreed on.
func Ping(ctx context.Context, host string) (string, error) {
	cli, err := newClient(host)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		return "", err
	}
	cli.NegotiateAPIVersion(ctx)
	return cli.ClientVersion(), nil
}

// newClient makes a fresh client per connection: the engine behind the
// socket may have been upgraded while we were away, so the API version is
// negotiated anew each time (Docker 29 refuses versions below 1.44; 20.10
// speaks at most 1.41).
func newClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	return client.NewClientWithOpts(opts...)
}

// run connects, follows events, and reconnects with capped backoff when
// the engine goes away, until Shutdown. It never gives up.
func (r *Registrar) run() {
	defer r.wg.Done()
	failures := 0
	for {
		began := time.Now()
		connected, err := r.session()
		r.mu.Lock()
		wasConnected := r.status.Connected
		r.status.Connected, r.docker = false, nil
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			return
		}
		// A session that lasted resets the backoff; one that breaks right
		// after connecting (a flapping engine or agent) keeps backing off.
		if connected && time.Since(began) >= r.cfg.MaxBackoff {
			failures = 0
		}
		r.setError(err)
		switch {
		case wasConnected:
			r.logger.Warn("lost the Docker engine; reconnecting", "docker", r.status.Endpoint, "error", err)
		case failures == 0:
			r.logger.Warn("Docker engine not answering; will keep trying", "docker", r.status.Endpoint, "error", err)
		default:
			r.logger.Debug("Docker engine not answering", "docker", r.status.Endpoint, "error", err)
		}
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(r.backoff(failures)):
		}
		failures++
	}
}

// session is one connection: negotiate, subscribe to events (from the
// engine's current time, so nothing between the listing and the
// subscription is lost), reconcile, then follow events until the stream
// breaks. connected reports whether the subscription was made.
func (r *Registrar) session() (connected bool, err error) {
	cli, err := newClient(r.cfg.DockerHost)
	if err != nil {
		return false, err
	}
	defer cli.Close()
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()

	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cli.Ping(pctx)
	if err == nil {
		cli.NegotiateAPIVersion(pctx)
	}
	var since string
	if err == nil {
		// The engine's clock, not ours: a remote engine may be skewed.
		if in, ierr := cli.Info(pctx); ierr == nil {
			if t, perr := time.Parse(time.RFC3339Nano, in.SystemTime); perr == nil {
				since = fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
			}
		}
	}
	pcancel()
	if err != nil {
		return false, fmt.Errorf("docker %s: %w", r.status.Endpoint, err)
	}

	f := r.filters()
	for _, a := range followedActions() {
		f.Add("event", a)
	}
	msgs, errs := cli.Events(ctx, events.ListOptions{Since: since, Filters: f})
	select {
	case err := <-errs:
		return false, fmt.Errorf("docker events: %w", err)
	default:
	}
	r.mu.Lock()
	r.docker = cli
	r.status.Connected, r.status.APIVersion = true, cli.ClientVersion()
	r.mu.Unlock()
	r.logger.Info("connected to Docker", "docker", r.status.Endpoint, "api_version", cli.ClientVersion())

	if err := r.reconcile(ctx, cli); err != nil {
		return true, err
	}
	var resync <-chan time.Time
	if r.cfg.Resync > 0 {
		t := time.NewTicker(r.cfg.Resync)
		defer t.Stop()
		resync = t.C
	}
	health := time.NewTicker(r.cfg.HealthTTL / 2)
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case err := <-errs:
			if err == nil {
				err = errors.New("event stream closed")
			}
			return true, fmt.Errorf("docker events: %w", err)
		case m := <-msgs:
			now := time.Now()
			r.mu.Lock()
			r.status.LastEvent = &now
			r.mu.Unlock()
			if m.Actor.ID == "" {
				continue
			}
			r.logger.Debug("docker event", "action", m.Action, "container", shortID(m.Actor.ID))
			switch m.Action {
			case events.ActionDie, events.ActionDestroy, events.ActionPause:
				r.q.addGone(m.Actor.ID, m.Actor.Attributes["name"])
			case events.ActionKill, events.ActionStop:
				// kill only sent a signal (the container may live on) and
				// stop follows die: die says what changed. Inspecting now
				// would wait on the engine's teardown and hold a worker.
			default:
				r.q.add(m.Actor.ID)
			}
		case <-resync:
			if err := r.reconcile(ctx, cli); err != nil {
				return true, err
			}
		case <-r.resyncCh:
			if err := r.reconcile(ctx, cli); err != nil {
				return true, err
			}
		case <-health.C:
			r.refreshHealth()
		}
	}
}

// filters are the label filters of Config.Labels, for listing and events.
func (r *Registrar) filters() filters.Args {
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))
	for _, l := range r.cfg.Labels {
		f.Add("label", l)
	}
	return f
}

// reconcile reloads the agent's view of our services, then queues every
// running container and every container we hold services for: each is
// inspected and brought to what it should have. Unchanged registrations
// are not rewritten, so a reconnect makes no flaps.
func (r *Registrar) reconcile(ctx context.Context, cli *client.Client) error {
	svcs, err := r.reloadOwned(ctx)
	if err != nil {
		return fmt.Errorf("agent services: %w", err)
	}
	lf := filters.NewArgs()
	for _, l := range r.cfg.Labels {
		lf.Add("label", l)
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	list, err := cli.ContainerList(lctx, container.ListOptions{Filters: lf})
	cancel()
	if err != nil {
		return fmt.Errorf("docker list containers: %w", err)
	}
	running := map[string]bool{}
	names := map[string]bool{}
	for _, c := range list {
		running[c.ID] = true
		for _, n := range c.Names {
			names[strings.TrimPrefix(n, "/")] = true
		}
		r.q.add(c.ID)
	}
	r.mu.Lock()
	var gone []string
	for _, rec := range r.owned {
		if !running[rec.containerID] {
			gone = append(gone, rec.containerID)
		}
	}
	r.mu.Unlock()
	for _, id := range gone {
		r.q.add(id)
	}
	r.logger.Debug("reconciling", "running", len(list), "stale_candidates", len(gone))
	if r.cfg.Cleanup {
		r.cleanupLegacy(ctx, svcs, names)
	}
	return nil
}

// reloadOwned replaces our records with the agent's view of the services
// we own, while no worker runs. Health is marked unknown, so the next
// handling of each container writes its mirror check once.
func (r *Registrar) reloadOwned(ctx context.Context) (map[string]*svcView, error) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	svcs, err := r.agent.Services(actx)
	if err != nil {
		return nil, err
	}
	all := map[string]*svcView{}
	owned := map[string]*record{}
	for id, s := range svcs {
		if s == nil {
			continue
		}
		all[id] = &svcView{id: id, name: s.Service, meta: s.Meta}
		if s.Meta[MetaSource] != sourceDocker || s.Meta[MetaRegistrar] != r.cfg.Hostname {
			continue
		}
		rec := &record{containerID: s.Meta[MetaContainerID], view: viewOfAgent(s)}
		if old := r.owned[id]; old != nil && old.containerID == rec.containerID {
			rec.healthCheck = old.healthCheck
		}
		owned[id] = rec
	}
	r.mu.Lock()
	r.owned = owned
	r.mu.Unlock()
	return all, nil
}

type svcView struct {
	id, name string
	meta     map[string]string
}

// legacyIDPattern is registrator's service ID pattern (bridge.go).
const legacyIDPattern = `^(.+?):([a-zA-Z0-9][a-zA-Z0-9_.-]+):[0-9]+(?::udp)?$`

// cleanupLegacy is registrator's -cleanup: services with its ID pattern and
// our hostname, not ours by Meta, whose container name runs no more.
func (r *Registrar) cleanupLegacy(ctx context.Context, svcs map[string]*svcView, running map[string]bool) {
	legacyID := regexp.MustCompile(legacyIDPattern)
	for id, s := range svcs {
		if s.meta[MetaSource] == sourceDocker {
			continue
		}
		m := legacyID.FindStringSubmatch(id)
		if m == nil || m[1] != r.cfg.Hostname || running[m[2]] {
			continue
		}
		if err := r.agent.ServiceDeregister(ctx, id); err != nil && !isNotFound(err) {
			r.logger.Warn("cleanup: deregister failed", "service", id, "error", err)
			continue
		}
		r.logger.Info("cleanup: removed dangling service", "service", id)
	}
}

// refreshHealth re-writes every mirror check (resetting its TTL) through
// the workers, so it never races a newer status.
func (r *Registrar) refreshHealth() {
	r.mu.Lock()
	var ids []string
	for _, rec := range r.owned {
		if rec.healthCheck != "" {
			rec.health = ""
			ids = append(ids, rec.containerID)
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		r.q.add(id)
	}
}
