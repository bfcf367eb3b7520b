package registrar

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/minconsul/minconsul/structs"
)

// Agent is what the registrar needs from a Consul-compatible agent: the
// running minconsul agent (registrations join its local state, so
// anti-entropy, persistence and node-failure cleanup apply), or an HTTP
// client of any agent's /v1/agent API (the standalone mode).
type Agent interface {
	// ServiceRegister registers (or replaces) a local service with its checks.
	ServiceRegister(ctx context.Context, def *structs.ServiceDefinition, replaceExistingChecks bool) error
	// ServiceDeregister removes a local service; an unknown ID is an error
	// wrapping structs.ErrNotFound.
	ServiceDeregister(ctx context.Context, id string) error
	// Services lists the agent's local services.
	Services(ctx context.Context) (map[string]*structs.AgentService, error)
	// CheckUpdateTTL sets a TTL check's status (Docker HEALTHCHECK mirror).
	CheckUpdateTTL(ctx context.Context, id, status, output string) error
}

// LocalAgent is the in-process agent's side of Agent (its Services cannot
// fail); *agent.Agent has these methods.
type LocalAgent interface {
	ServiceRegister(ctx context.Context, def *structs.ServiceDefinition, replaceExistingChecks bool) error
	ServiceDeregister(ctx context.Context, id string) error
	Services() map[string]*structs.AgentService
	CheckUpdateTTL(ctx context.Context, id, status, output string) error
}

// Local adapts the running agent: registrations join its local state like
// any /v1/agent/service/register call.
func Local(a LocalAgent) Agent { return local{a} }

type local struct{ LocalAgent }

func (l local) Services(context.Context) (map[string]*structs.AgentService, error) {
	return l.LocalAgent.Services(), nil
}

// DefaultDockerHost is where the engine listens when neither a flag nor
// DOCKER_HOST says otherwise.
const DefaultDockerHost = "unix:///var/run/docker.sock"

// Config is the registrar's whole configuration. Field comments name the
// registrator option each one mirrors.
type Config struct {
	// DockerHost is the engine's address (unix://, tcp://); "" reads
	// DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), else
	// DefaultDockerHost.
	DockerHost string
	// Hostname is the first part of every service ID and marks the
	// services this registrar owns (Meta docker-registrar). Default: the
	// host name.
	Hostname string
	// AdvertiseAddr is the address registered for ports published on all
	// interfaces (0.0.0.0 or ::) and in host network mode: the node's.
	AdvertiseAddr string
	HostIP        string // -ip: forced address for published ports
	Internal      bool   // -internal: container IP and private port
	Explicit      bool   // -explicit: only containers with SERVICE[_<port>]_NAME
	// UseIPFromLabel (-useIpFromLabel) names a container label holding
	// the IP to register (an optional /prefix is dropped).
	UseIPFromLabel string
	// Tags (-tags) are forced on every service: comma-separated, or a Go
	// template over the inspected container.
	Tags string
	// DeregisterOnSuccess (-deregister on-success) keeps the services of a
	// container that exited with a non-zero code (not by a signal) until
	// it is removed or runs again.
	DeregisterOnSuccess bool
	// Cleanup (-cleanup) also removes services with registrator's ID
	// pattern and this Hostname that no running container accounts for
	// (left by registrator itself). Own services are always reconciled.
	Cleanup bool
	// Resync (-resync) re-reads every container and the agent's services
	// this often; 0: only on start and after each reconnect.
	Resync time.Duration
	// Labels limits the registrar to containers carrying all of these
	// labels ("key" or "key=value"), as `docker ps --filter label=`.
	Labels []string
	// HealthTTL is the TTL of the checks mirroring Docker HEALTHCHECKs;
	// they are refreshed every HealthTTL/2 while the engine answers, so
	// they turn critical only when it stops answering for that long.
	HealthTTL time.Duration
	// Workers inspect and register containers concurrently (default 8).
	Workers int
	// MinBackoff and MaxBackoff bound the reconnect (and per-container
	// retry) delay: doubled from MinBackoff up to MaxBackoff, forever.
	MinBackoff, MaxBackoff time.Duration
}

func (c *Config) setDefaults() error {
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("registrar hostname: %w", err)
		}
		c.Hostname = h
	}
	if c.HealthTTL <= 0 {
		c.HealthTTL = 24 * time.Hour
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = 5 * time.Second
		if c.MaxBackoff < c.MinBackoff {
			c.MaxBackoff = c.MinBackoff
		}
	}
	return nil
}

// Endpoint is the Docker address the registrar talks to (Config.DockerHost
// or DOCKER_HOST, else the default socket).
func (c *Config) Endpoint() string {
	if c.DockerHost != "" {
		return c.DockerHost
	}
	if h := os.Getenv(client.EnvOverrideHost); h != "" {
		return h
	}
	return DefaultDockerHost
}

// Registrar follows one Docker engine and keeps the agent's services equal
// to the published ports of its running containers.
type Registrar struct {
	cfg    Config
	agent  Agent
	logger hclog.Logger
	build  builder
	q      *queue

	// syncMu: workers hold it shared while they handle a container;
	// reloading the agent's view of our services takes it exclusively, so
	// that view never misses a registration made meanwhile.
	syncMu sync.RWMutex

	mu       sync.Mutex
	owned    map[string]*record // service ID -> what we registered
	retries  map[string]int     // container ID -> consecutive failures
	warned   map[string]string  // container ID -> last warnings logged
	docker   *client.Client     // current session's client; nil when disconnected
	status   Status
	resyncCh chan struct{}

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// record is a registration the agent holds for us, as last written or read.
type record struct {
	containerID string
	view        view
	healthCheck string
	health      string // status last written to the mirror check; "" unknown
}

// Status is the registrar's section of /v1/agent/self.
type Status struct {
	Endpoint      string
	APIVersion    string
	Connected     bool
	LastEvent     *time.Time `json:",omitempty"`
	Containers    int        // containers with at least one registration
	Services      int        // services registered
	LastError     string     `json:",omitempty"`
	LastErrorTime *time.Time `json:",omitempty"`
}

// New builds a registrar; Start runs it.
func New(cfg Config, agent Agent, logger hclog.Logger) (*Registrar, error) {
	if agent == nil {
		return nil, errors.New("registrar: no agent")
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	tags, err := newTagTemplate(cfg.Tags)
	if err != nil {
		return nil, err
	}
	r := &Registrar{
		cfg: cfg, agent: agent, logger: logger, q: newQueue(),
		owned: map[string]*record{}, retries: map[string]int{}, warned: map[string]string{},
		resyncCh: make(chan struct{}, 1),
	}
	r.build = builder{cfg: &r.cfg, tags: tags}
	r.status.Endpoint = cfg.Endpoint()
	return r, nil
}

// Start connects in the background and returns at once: an absent engine
// is waited for (and reconnected to) forever.
func (r *Registrar) Start(ctx context.Context) error {
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.logger.Info("registrar starting", "docker", r.status.Endpoint, "hostname", r.cfg.Hostname,
		"internal", r.cfg.Internal, "labels", r.cfg.Labels)
	for i := 0; i < r.cfg.Workers; i++ {
		r.wg.Add(1)
		go r.worker()
	}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		r.q.runDelayed(r.ctx.Done())
	}()
	go r.run()
	return nil
}

// Shutdown stops following Docker and waits for every goroutine. The
// registrations stay: the agent keeps (and persists) them, and the next
// start reconciles them with what runs then. Idempotent.
func (r *Registrar) Shutdown() error {
	r.stopOnce.Do(func() {
		if r.cancel != nil {
			r.cancel()
		}
		r.q.close()
		r.wg.Wait()
	})
	return nil
}

// Resync asks for a full reconcile now (as -resync does periodically).
func (r *Registrar) Resync() {
	select {
	case r.resyncCh <- struct{}{}:
	default:
	}
}

// Status reports the registrar's state for /v1/agent/self.
func (r *Registrar) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	containers := map[string]bool{}
	for _, rec := range r.owned {
		containers[rec.containerID] = true
	}
	s.Containers, s.Services = len(containers), len(r.owned)
	return s
}

func (r *Registrar) setError(err error) {
	now := time.Now()
	r.mu.Lock()
	r.status.LastError, r.status.LastErrorTime = err.Error(), &now
	r.mu.Unlock()
}

func (r *Registrar) client() *client.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.docker
}

// backoff is the delay before attempt n (0-based): doubling, capped.
func (r *Registrar) backoff(n int) time.Duration {
	d := r.cfg.MinBackoff
	for i := 0; i < n && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	if d > r.cfg.MaxBackoff {
		d = r.cfg.MaxBackoff
	}
	return d
}
