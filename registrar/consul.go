package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/structs"
)

// ConsulAgent is the Agent of the standalone mode: the /v1/agent HTTP API
// of any Consul-compatible agent (minconsul or Consul), through the
// official client. CONSUL_HTTP_TOKEN and the other CONSUL_* variables
// apply, as they did to registrator.
type ConsulAgent struct {
	client *api.Client
	addr   string
}

// NewConsulAgent takes registrator's registry URI: consul://HOST[:PORT],
// consul-unix:///path/to.sock or consul-tls://HOST[:PORT] (with
// CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY). No host means
// 127.0.0.1:8500.
func NewConsulAgent(uri string) (*ConsulAgent, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("bad registry URI %q: want consul://HOST:PORT", uri)
	}
	cfg := api.DefaultConfig()
	switch u.Scheme {
	case "consul":
		if u.Host != "" {
			cfg.Address = u.Host
		}
	case "consul-unix":
		cfg.Address = "unix://" + strings.TrimPrefix(uri, "consul-unix://")
	case "consul-tls":
		if u.Host != "" {
			cfg.Address = u.Host
		}
		cfg.Scheme = "https"
		cfg.TLSConfig = api.TLSConfig{
			CAFile: os.Getenv("CONSUL_CACERT"), CertFile: os.Getenv("CONSUL_CLIENT_CERT"),
			KeyFile: os.Getenv("CONSUL_CLIENT_KEY"),
		}
	default:
		return nil, fmt.Errorf("unsupported registry %q: minconsul registers into Consul's agent API (consul://, consul-unix://, consul-tls://)", u.Scheme)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	return &ConsulAgent{client: c, addr: cfg.Address}, nil
}

// Address is the agent address in use.
func (c *ConsulAgent) Address() string { return c.addr }

// Ping asks for the cluster leader, as registrator's backend check did.
func (c *ConsulAgent) Ping(ctx context.Context) (string, error) {
	var leader string
	_, err := c.client.Raw().Query("/v1/status/leader", &leader, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return "", mapErr(err)
	}
	return leader, nil
}

// AdvertiseAddr is the agent's own address (its gossip member address),
// used for ports published on all interfaces.
func (c *ConsulAgent) AdvertiseAddr(ctx context.Context) (string, error) {
	var self struct{ Member struct{ Addr string } }
	if _, err := c.client.Raw().Query("/v1/agent/self", &self, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return "", mapErr(err)
	}
	if self.Member.Addr == "" {
		return "", errors.New("agent self reports no member address")
	}
	return self.Member.Addr, nil
}

// ServiceRegister implements Agent.
func (c *ConsulAgent) ServiceRegister(ctx context.Context, def *structs.ServiceDefinition, replace bool) error {
	reg := &api.AgentServiceRegistration{
		ID: def.ID, Name: def.Name, Tags: def.Tags, Port: def.Port, Address: def.Address, Meta: def.Meta,
	}
	if len(def.TaggedAddresses) > 0 {
		reg.TaggedAddresses = map[string]api.ServiceAddress{}
		for k, v := range def.TaggedAddresses {
			reg.TaggedAddresses[k] = api.ServiceAddress{Address: v.Address, Port: v.Port}
		}
	}
	for _, ch := range def.Checks {
		reg.Checks = append(reg.Checks, &api.AgentServiceCheck{
			CheckID: ch.CheckID, Name: ch.Name, Notes: ch.Notes, Args: ch.Args, Interval: ch.Interval,
			Timeout: ch.Timeout, TTL: ch.TTL, HTTP: ch.HTTP, Method: ch.Method, TCP: ch.TCP, Status: ch.Status,
			TLSSkipVerify: ch.TLSSkipVerify, DeregisterCriticalServiceAfter: ch.DeregisterCriticalServiceAfter,
		})
	}
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: replace}.WithContext(ctx)
	return mapErr(c.client.Agent().ServiceRegisterOpts(reg, opts))
}

// ServiceDeregister implements Agent.
func (c *ConsulAgent) ServiceDeregister(ctx context.Context, id string) error {
	return mapErr(c.client.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)))
}

// Services implements Agent.
func (c *ConsulAgent) Services(ctx context.Context) (map[string]*structs.AgentService, error) {
	svcs, err := c.client.Agent().ServicesWithFilterOpts("", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, mapErr(err)
	}
	out := make(map[string]*structs.AgentService, len(svcs))
	for id, s := range svcs {
		as := &structs.AgentService{ID: s.ID, Service: s.Service, Tags: s.Tags, Meta: s.Meta, Port: s.Port, Address: s.Address}
		if len(s.TaggedAddresses) > 0 {
			as.TaggedAddresses = map[string]structs.ServiceAddress{}
			for k, v := range s.TaggedAddresses {
				as.TaggedAddresses[k] = structs.ServiceAddress{Address: v.Address, Port: v.Port}
			}
		}
		out[id] = as
	}
	return out, nil
}

// CheckUpdateTTL implements Agent.
func (c *ConsulAgent) CheckUpdateTTL(ctx context.Context, id, status, output string) error {
	return mapErr(c.client.Agent().UpdateTTLOpts(id, output, status, (&api.QueryOptions{}).WithContext(ctx)))
}

// mapErr turns the agent's 400 and 404 answers into the structs kinds the
// registrar acts on (refused registration, already gone). Consul answers
// an unknown service or check with 404, older versions with 500 and
// "Unknown ...".
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se api.StatusError
	if errors.As(err, &se) {
		switch {
		case se.Code == http.StatusBadRequest:
			return fmt.Errorf("%w: %s", structs.ErrBadRequest, se.Body)
		case se.Code == http.StatusNotFound, strings.Contains(se.Body, "Unknown service"), strings.Contains(se.Body, "Unknown check"):
			return fmt.Errorf("%w: %s", structs.ErrNotFound, se.Body)
		}
	}
	return err
}
