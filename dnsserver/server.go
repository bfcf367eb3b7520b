package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/miekg/dns"
	"github.com/minconsul/minconsul/internal/telemetry"

	"github.com/minconsul/minconsul/backend"
)

// Store is the part of the backend contract the DNS server reads through.
type Store interface {
	backend.CatalogReader
	backend.HealthReader
}

// Config is the agent's DNS configuration (agent.Config.DNS plus the
// domain, datacenter and node name).
type Config struct {
	Domain     string // "consul." when empty; trailing dot and case optional
	Datacenter string
	NodeName   string

	NodeTTL    time.Duration
	ServiceTTL map[string]time.Duration // exact name, "prefix*", or "*" for all
	// OnlyPassing drops instances with warning checks too (critical ones are
	// always dropped).
	OnlyPassing bool
	// AllowStale reads the local state without asking the leader (Consul's
	// default is true).
	AllowStale bool
	// UDPAnswerLimit caps answers in UDP replies to clients without EDNS
	// (Consul's default 3, never more than 8).
	UDPAnswerLimit int
	// EnableTruncate sets TC when a UDP answer was trimmed, so that clients
	// retry over TCP (off by default, as Consul).
	EnableTruncate  bool
	Recursors       []string // host[:port], port 53 when absent
	RecursorTimeout time.Duration

	// QueryTimeout bounds one catalog read when AllowStale is false (the
	// leader check); 0 means 5s.
	QueryTimeout time.Duration

	// Metrics records consul.dns.domain_query and ptr_query timers (nil:
	// none).
	Metrics *telemetry.Metrics
}

// Defaults follow Consul's dns_config defaults.
const (
	defaultDomain          = "consul."
	defaultUDPAnswerLimit  = 3
	maxUDPAnswerLimit      = 8
	defaultRecursorTimeout = 2 * time.Second
	defaultQueryTimeout    = 5 * time.Second
)

// Server answers DNS queries for one agent.
type Server struct {
	cfg    Config
	store  Store
	logger hclog.Logger

	domain   string // lower case, fully qualified ("consul.")
	dotDom   string // "." + domain, for suffix checks
	dc       string // lower case datacenter
	nodeSfx  string // ".node.<dc>.<domain>", the tail of SRV targets
	addrSfx  string // ".addr.<dc>.<domain>"
	nodeTTL  uint32
	ttls     serviceTTLs
	answerLt int
	// The query timers, labelled by node as Consul's (nil without
	// metrics).
	domainTimer, ptrTimer *telemetry.Timer

	recursors []string
	udpClient *dns.Client
	tcpClient *dns.Client

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	servers  []*dns.Server
	wg       sync.WaitGroup
	started  bool
	shutdown bool
}

// New validates cfg and builds a server; it serves nothing until Start.
func New(cfg Config, store Store, logger hclog.Logger) (*Server, error) {
	if store == nil {
		return nil, errors.New("dnsserver: nil store")
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	domain := strings.ToLower(strings.TrimSpace(cfg.Domain))
	if domain == "" || domain == "." {
		domain = defaultDomain
	}
	domain = dns.Fqdn(strings.TrimPrefix(domain, "."))
	if _, ok := dns.IsDomainName(domain); !ok {
		return nil, fmt.Errorf("dnsserver: invalid domain %q", cfg.Domain)
	}
	if cfg.Datacenter == "" {
		return nil, errors.New("dnsserver: datacenter is required")
	}
	if cfg.RecursorTimeout <= 0 {
		cfg.RecursorTimeout = defaultRecursorTimeout
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = defaultQueryTimeout
	}
	limit := cfg.UDPAnswerLimit
	if limit <= 0 {
		limit = defaultUDPAnswerLimit
	}
	if limit > maxUDPAnswerLimit {
		limit = maxUDPAnswerLimit
	}
	recursors := make([]string, 0, len(cfg.Recursors))
	for _, r := range cfg.Recursors {
		addr, err := recursorAddr(r)
		if err != nil {
			return nil, fmt.Errorf("dnsserver: invalid recursor address %q: %w", r, err)
		}
		recursors = append(recursors, addr)
	}
	dc := strings.ToLower(cfg.Datacenter)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		store:     store,
		logger:    logger,
		domain:    domain,
		dotDom:    "." + domain,
		dc:        dc,
		nodeSfx:   ".node." + dc + "." + domain,
		addrSfx:   ".addr." + dc + "." + domain,
		nodeTTL:   durationTTL(cfg.NodeTTL),
		ttls:      newServiceTTLs(cfg.ServiceTTL),
		answerLt:  limit,
		recursors: recursors,
		udpClient: &dns.Client{Net: "udp", Timeout: cfg.RecursorTimeout, UDPSize: dns.MaxMsgSize},
		tcpClient: &dns.Client{Net: "tcp", Timeout: cfg.RecursorTimeout},
		ctx:       ctx,
		cancel:    cancel,
	}
	s.domainTimer = cfg.Metrics.Timer(keyDomainQuery, telemetry.Label{Name: "node", Value: cfg.NodeName})
	s.ptrTimer = cfg.Metrics.Timer(keyPTRQuery, telemetry.Label{Name: "node", Value: cfg.NodeName})
	return s, nil
}

// Start serves on already bound sockets (either may be nil, not both) and
// returns once both serve loops run, so that Shutdown never races them.
// The server owns the sockets from now on and closes them on Shutdown.
func (s *Server) Start(pc net.PacketConn, ln net.Listener) error {
	if pc == nil && ln == nil {
		return errors.New("dnsserver: no socket to serve on")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.shutdown {
		return errors.New("dnsserver: already started")
	}
	s.started = true
	var (
		ready   sync.WaitGroup
		errMu   sync.Mutex
		failure error
	)
	start := func(srv *dns.Server, addr net.Addr) {
		ready.Add(1)
		notify := sync.OnceFunc(ready.Done)
		srv.NotifyStartedFunc = notify
		s.servers = append(s.servers, srv)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := srv.ActivateAndServe()
			if err != nil && s.ctx.Err() == nil {
				s.logger.Error("DNS server stopped", "address", addr.String(), "error", err)
				errMu.Lock()
				if failure == nil {
					failure = fmt.Errorf("dnsserver: serve %s: %w", addr, err)
				}
				errMu.Unlock()
			}
			// A serve loop that failed before starting must not block Start.
			notify()
		}()
	}
	if pc != nil {
		// Requests may carry EDNS0 and be larger than 512 bytes.
		start(&dns.Server{PacketConn: pc, Handler: s, UDPSize: dns.MaxMsgSize}, pc.LocalAddr())
	}
	if ln != nil {
		start(&dns.Server{Listener: ln, Handler: s}, ln.Addr())
	}
	ready.Wait()
	errMu.Lock()
	err := failure
	errMu.Unlock()
	if err != nil {
		return err
	}
	s.logger.Info("DNS server started", "domain", s.domain)
	return nil
}

// Shutdown stops serving and waits for the serve loops; it is idempotent.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return
	}
	s.shutdown = true
	servers := s.servers
	s.mu.Unlock()

	s.cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(); err != nil {
			s.logger.Debug("DNS server shutdown", "error", err)
		}
	}
	s.wg.Wait()
	s.logger.Info("DNS server stopped")
}

// recursorAddr adds port 53 when the address has none.
func recursorAddr(r string) (string, error) {
	r = strings.TrimSpace(r)
	if r == "" {
		return "", errors.New("empty address")
	}
	if ip := net.ParseIP(strings.Trim(r, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(r)
	if err != nil {
		// A host name without a port.
		if _, ok := dns.IsDomainName(r); ok && !strings.Contains(r, ":") {
			return net.JoinHostPort(r, "53"), nil
		}
		return "", err
	}
	if host == "" || port == "" {
		return "", errors.New("missing host or port")
	}
	return net.JoinHostPort(host, port), nil
}

// serviceTTLs resolves Consul's service_ttl: an exact name wins, then the
// longest "prefix*" entry ("*" matches everything).
type serviceTTLs struct {
	exact    map[string]uint32
	prefixes []ttlPrefix // longest first
}

type ttlPrefix struct {
	prefix string
	ttl    uint32
}

func newServiceTTLs(m map[string]time.Duration) serviceTTLs {
	var t serviceTTLs
	for k, v := range m {
		k = strings.ToLower(k)
		if p, ok := strings.CutSuffix(k, "*"); ok {
			t.prefixes = append(t.prefixes, ttlPrefix{p, durationTTL(v)})
			continue
		}
		if t.exact == nil {
			t.exact = make(map[string]uint32)
		}
		t.exact[k] = durationTTL(v)
	}
	sort.Slice(t.prefixes, func(i, j int) bool { return len(t.prefixes[i].prefix) > len(t.prefixes[j].prefix) })
	return t
}

func (t *serviceTTLs) lookup(service string) uint32 {
	if ttl, ok := t.exact[service]; ok {
		return ttl
	}
	for _, p := range t.prefixes {
		if strings.HasPrefix(service, p.prefix) {
			return p.ttl
		}
	}
	return 0
}

func durationTTL(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(d / time.Second)
}
