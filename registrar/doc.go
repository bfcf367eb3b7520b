// Package registrar turns one Docker engine's running containers into
// service registrations of a Consul-compatible agent, as
// gliderlabs/registrator did, and keeps them from going stale. It owns the
// Docker connection (github.com/docker/docker/client with API version
// negotiation, a fresh client per connection), the event stream, the
// container -> registration rules, and the bookkeeping of which services
// it registered. It never touches the catalog or Raft: it calls the
// four-method Agent interface, which the running agent satisfies (Local:
// registrations join its local state, so anti-entropy, persistence and
// node-failure cleanup apply) and so does ConsulAgent, an HTTP client of
// any agent's /v1/agent API (the `minconsul registrator` command).
//
// Behaviour, following registrator's bridge and consul adapter:
//   - One service per eligible private port: published ports (HostPort
//     set); with Internal every exposed or published port; in host network
//     mode every exposed port (the host port is the private port).
//   - Name: SERVICE_<port>_NAME, else SERVICE_NAME, else the image's base
//     name without registry, tag or digest; "-<private port>" is appended
//     when the container has more than one eligible port, unless the name
//     came from SERVICE_<port>_NAME.
//   - ID: <hostname>:<container name>:<private port>[:udp]; SERVICE_<port>_ID
//     or SERVICE_ID replace it. Port: the host port (Internal: the private
//     port). Tags: SERVICE_[<port>_]TAGS (comma-separated, `\,` escapes a
//     comma), then the forced -tags, then "udp" for UDP ports.
//   - SERVICE_* keys come from env then labels (a label wins); a
//     port-specific key beats the generic one; keys other than the ones
//     interpreted (name, id, tags, ignore, network, check_*) become service
//     Meta, lower-cased. SERVICE_IGNORE / SERVICE_<port>_IGNORE skip.
//   - SERVICE_[<port>_]CHECK_HTTP|HTTPS|SCRIPT|TTL|TCP|GRPC with _INTERVAL
//     (default 10s), _TIMEOUT, _INITIAL_STATUS, _DEREGISTER_AFTER,
//     _HTTP_METHOD, _TLS_SKIP_VERIFY; $SERVICE_IP and $SERVICE_PORT are
//     substituted in scripts. The check ID is "service:<service ID>".
//
// Deliberate differences (registrator's known faults):
//   - Names are DNS labels: invalid characters become '-', at most 63; an
//     image given by ID or digest only falls back to the Compose service
//     label, then the container name (registrator gave "sha256").
//   - Published ports register the host binding's IP, -ip, or (bound to
//     0.0.0.0/::) AdvertiseAddr, on every network mode (registrator gave
//     the container IP with the host port on user-defined networks). A
//     specific IPv6 binding is registered (as lan_ipv6 next to an IPv4
//     one), so AAAA answers work. Internal picks the network by
//     SERVICE_NETWORK, else the first by name.
//   - A container with a Docker HEALTHCHECK gets a TTL check
//     "service:<ID>:docker-health" mirroring its health: starting is
//     critical (or SERVICE_CHECK_INITIAL_STATUS), healthy passing,
//     unhealthy critical, written when Docker reports the change.
//   - Every registration carries Meta external-source=docker,
//     docker-container-id, docker-container-name, docker-image and
//     docker-registrar (the hostname); the last marks what this registrar
//     owns, so a restart finds its services again.
//   - Never stale: start, die, stop, kill, destroy, pause, unpause,
//     health_status and rename events only say "look at this container
//     again": it is inspected and its registrations made equal to what it
//     should have (a paused or stopped container has none). On start and
//     after every reconnect the registrar lists the running containers and
//     reconciles all of them plus every container it holds services for;
//     unchanged registrations are not rewritten (no check flaps). It
//     reconnects forever with capped backoff, starts without an engine and
//     picks it up when it appears.
//   - Odd labels (empty values, non-numeric ports, too many tags, names
//     too long for DNS, invalid Meta keys) are logged once per container
//     naming the label, and what is valid is registered. A check the agent
//     refuses (script checks disabled) is dropped with a warning; the
//     service is still registered. gRPC checks are TCP checks (minconsul's
//     agent does not speak the gRPC health protocol); SERVICE_CHECK_CMD
//     (registrator's in-container exec) is not supported.
package registrar
