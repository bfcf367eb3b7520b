package registrar

import (
	"fmt"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/minconsul/minconsul/structs"
)

// Meta keys every registration carries: where it came from, for users, the
// UI, and for the registrar itself to find its own services again.
const (
	MetaSource        = "external-source" // = "docker"
	MetaContainerID   = "docker-container-id"
	MetaContainerName = "docker-container-name"
	MetaImage         = "docker-image"
	MetaRegistrar     = "docker-registrar" // the registrar's hostname (the ID prefix)
	sourceDocker      = "docker"
)

// Consul's limits on service Meta (agent/structs: ValidateServiceMetadata).
const (
	maxMetaPairs    = 64
	maxMetaKeyLen   = 128
	maxMetaValueLen = 512
	maxTags         = 128
	maxLabelLen     = 63 // a DNS label
)

// service is one registration the registrar wants for a container.
type service struct {
	def         *structs.ServiceDefinition
	containerID string
	// healthCheck is the ID of the check mirroring the container's Docker
	// HEALTHCHECK ("" when it has none); health is its current status.
	healthCheck  string
	health       string
	healthOutput string
}

// portInfo is one eligible private port of a container.
type portInfo struct {
	port  string // "8080"
	proto string // "tcp" | "udp" | "sctp"
	addr  string
	num   int // registered port
	v6    string
}

// builder turns an inspected container into registrations, following
// registrator's rules where they are sound (see doc.go for the deliberate
// differences). It is pure: no Docker or agent calls.
type builder struct {
	cfg  *Config
	tags *tagTemplate
}

// build returns the container's registrations and the warnings to log. A
// container that is not running (or paused) has none. netC is the
// container whose network a `container:<id>` network mode shares, if any.
func (b *builder) build(c *container.InspectResponse, netC *container.InspectResponse) ([]*service, []string) {
	var warns []string
	warn := func(s string) { warns = append(warns, s) }
	if c == nil || c.ContainerJSONBase == nil || c.Config == nil || c.State == nil || !c.State.Running || c.State.Paused {
		return nil, nil
	}
	md := parseMetadata(c.Config.Env, c.Config.Labels, warn)
	if v, ok := md.generic["ignore"]; ok && truthy(v.value) {
		return nil, warns
	}
	ports := b.eligiblePorts(c, netC, md, warn)
	group := len(ports) > 1
	name := strings.TrimPrefix(c.Name, "/")
	var out []*service
	for _, p := range ports {
		s := b.service(c, name, p, group, md, warn)
		if s != nil {
			out = append(out, s)
		}
	}
	return out, warns
}

// eligiblePorts lists the ports that become services, sorted.
func (b *builder) eligiblePorts(c *container.InspectResponse, netC *container.InspectResponse, md *metadata, warn func(string)) []portInfo {
	mode := ""
	if c.HostConfig != nil {
		mode = string(c.HostConfig.NetworkMode)
	}
	settings := c.NetworkSettings
	if strings.HasPrefix(mode, "container:") && netC != nil {
		settings = netC.NetworkSettings
	}
	var published nat.PortMap
	if settings != nil {
		published = settings.Ports
	}
	all := map[nat.Port]bool{}
	for p := range c.Config.ExposedPorts {
		all[p] = true
	}
	for p := range published {
		all[p] = true
	}
	keys := make([]nat.Port, 0, len(all))
	for p := range all {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Int() != keys[j].Int() {
			return keys[i].Int() < keys[j].Int()
		}
		return keys[i].Proto() < keys[j].Proto()
	})
	var out []portInfo
	for _, p := range keys {
		pi := portInfo{port: p.Port(), proto: p.Proto()}
		if pi.proto == "" {
			pi.proto = "tcp"
		}
		private, err := strconv.Atoi(pi.port)
		if err != nil || private < 1 || private > 65535 {
			continue // Docker validates ports; a range or junk is not a service
		}
		switch {
		case mode == "host":
			// Host networking: the exposed port is the host port.
			pi.addr, pi.num = b.hostAddr(), private
		case b.cfg.Internal:
			ip, v6 := containerIP(settings, md, warn)
			if ip == "" {
				ip = v6
			}
			if ip == "" {
				warn(fmt.Sprintf("port %s: the container has no IP address on any network; not registered", p))
				continue
			}
			pi.addr, pi.num = ip, private
			if v6 != "" && v6 != ip {
				pi.v6 = v6
			}
		default:
			if !b.published(&pi, published[p]) {
				continue
			}
		}
		out = append(out, pi)
	}
	return out
}

func (b *builder) hostAddr() string {
	if b.cfg.HostIP != "" {
		return b.cfg.HostIP
	}
	return b.cfg.AdvertiseAddr
}

// published picks the address and host port of a published port: a
// specific IPv4 binding, else a wildcard one (0.0.0.0 or ::, which means
// this node: -ip or the advertise address), else a specific IPv6 binding.
// A specific IPv6 binding of the same host port next to an IPv4 one is
// kept as lan_ipv6 so both address families are known.
func (b *builder) published(pi *portInfo, bindings []nat.PortBinding) bool {
	var v4, v6, wild *nat.PortBinding
	for i := range bindings {
		bd := &bindings[i]
		if bd.HostPort == "" {
			continue
		}
		ip := net.ParseIP(strings.Trim(bd.HostIP, "[]"))
		switch {
		case bd.HostIP == "" || (ip != nil && ip.IsUnspecified()):
			if wild == nil {
				wild = bd
			}
		case ip == nil:
		case ip.To4() != nil:
			if v4 == nil {
				v4 = bd
			}
		default:
			if v6 == nil {
				v6 = bd
			}
		}
	}
	chosen := v4
	if chosen == nil {
		chosen = wild
	}
	if chosen == nil {
		chosen = v6
	}
	if chosen == nil {
		return false
	}
	n, err := strconv.Atoi(chosen.HostPort)
	if err != nil || n < 1 || n > 65535 {
		return false
	}
	pi.num = n
	switch {
	case b.cfg.HostIP != "":
		pi.addr = b.cfg.HostIP
	case chosen == wild:
		pi.addr = b.cfg.AdvertiseAddr
	default:
		pi.addr = strings.Trim(chosen.HostIP, "[]")
	}
	if v6 != nil && chosen != v6 && v6.HostPort == chosen.HostPort && b.cfg.HostIP == "" {
		pi.v6 = strings.Trim(v6.HostIP, "[]")
	}
	return true
}

// containerIP picks the network deterministically: SERVICE_NETWORK when it
// names one of the container's networks, else the first by name.
func containerIP(settings *container.NetworkSettings, md *metadata, warn func(string)) (ipv4, ipv6 string) {
	if settings == nil {
		return "", ""
	}
	names := make([]string, 0, len(settings.Networks))
	for n, ep := range settings.Networks {
		if ep != nil && (ep.IPAddress != "" || ep.GlobalIPv6Address != "") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if want, ok := md.generic["network"]; ok {
		if ep := settings.Networks[want.value]; ep != nil && (ep.IPAddress != "" || ep.GlobalIPv6Address != "") {
			return ep.IPAddress, ep.GlobalIPv6Address
		}
		warn(fmt.Sprintf("%s=%q: the container has no address on that network; using %v", want.source, want.value, first(names)))
	}
	if len(names) == 0 {
		return settings.IPAddress, settings.GlobalIPv6Address
	}
	ep := settings.Networks[names[0]]
	return ep.IPAddress, ep.GlobalIPv6Address
}

func first(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[0]
}

// service builds one port's registration, or nil when it is ignored.
func (b *builder) service(c *container.InspectResponse, cname string, p portInfo, group bool, md *metadata, warn func(string)) *service {
	if v, ok, _ := md.get(p.port, "ignore"); ok && truthy(v.value) {
		return nil
	}
	nameV, hasName, fromPort := md.get(p.port, "name")
	if !hasName && b.cfg.Explicit {
		return nil
	}
	var name string
	if hasName {
		name = dnsLabel(nameV.value)
		if name == "" {
			warn(fmt.Sprintf("%s=%q has no character valid in a DNS name; using the default name", nameV.source, nameV.value))
			fromPort = false
		} else if name != nameV.value {
			warn(fmt.Sprintf("%s=%q is not a valid DNS label; registered as %q", nameV.source, nameV.value, name))
		}
	}
	if name == "" {
		name = b.defaultName(c, cname, warn)
	}
	if group && !fromPort {
		suffix := "-" + p.port
		if len(name)+len(suffix) > maxLabelLen {
			name = strings.TrimRight(name[:maxLabelLen-len(suffix)], "-")
		}
		name += suffix
	}

	id := b.cfg.Hostname + ":" + cname + ":" + p.port
	if p.proto == "udp" {
		id += ":udp"
	}
	if v, ok, idFromPort := md.get(p.port, "id"); ok {
		switch {
		case strings.IndexFunc(v.value, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '/' }) >= 0:
			warn(fmt.Sprintf("%s=%q contains '/' or control characters; using %q", v.source, v.value, id))
		case group && !idFromPort:
			// registrator gives every port the same ID, so only one
			// survives; keep them apart.
			id = v.value + ":" + p.port
			if p.proto == "udp" {
				id += ":udp"
			}
		default:
			id = v.value
		}
	}

	var tags []string
	if v, ok, _ := md.get(p.port, "tags"); ok {
		tags = append(tags, splitTags(v.value)...)
	}
	if b.tags != nil {
		forced, err := b.tags.render(c)
		if err != nil {
			warn(fmt.Sprintf("-tags template: %v; forced tags not applied", err))
		}
		tags = append(tags, forced...)
	}
	if p.proto == "udp" {
		tags = append(tags, "udp")
	}
	tags = cleanTags(tags, warn)

	addr := p.addr
	if lbl := b.cfg.UseIPFromLabel; lbl != "" {
		if v := c.Config.Labels[lbl]; v != "" {
			ip := v
			if i := strings.LastIndex(ip, "/"); i >= 0 {
				ip = ip[:i]
			}
			if net.ParseIP(ip) == nil {
				warn(fmt.Sprintf("label %s=%q is not an IP address; using %s", lbl, v, addr))
			} else {
				addr = ip
			}
		}
	}

	def := &structs.ServiceDefinition{
		ID: id, Name: name, Tags: tags, Address: addr, Port: p.num,
		Meta: b.meta(c, cname, md.attrs(p.port), warn),
	}
	if p.v6 != "" {
		def.TaggedAddresses = map[string]structs.ServiceAddress{
			"lan_ipv4": {Address: addr, Port: p.num}, "lan_ipv6": {Address: p.v6, Port: p.num},
		}
	}
	s := &service{def: def, containerID: c.ID}
	attrs := md.attrs(p.port)
	if chk := buildCheck(attrs, addr, p.num, warn); chk != nil {
		chk.CheckID = "service:" + id
		def.Checks = append(def.Checks, chk)
	}
	if hc := c.Config.Healthcheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE" {
		s.healthCheck = "service:" + id + ":docker-health"
		s.health, s.healthOutput = healthStatus(c, attrs)
		def.Checks = append(def.Checks, &structs.CheckDefinition{
			CheckID: s.healthCheck, Name: "Docker health check",
			Notes:  "Mirrors the Docker HEALTHCHECK of container " + shortID(c.ID) + " (" + cname + ")",
			TTL:    b.cfg.HealthTTL.String(),
			Status: s.health,
		})
	}
	return s
}

// defaultName is the image's base name without registry, tag or digest; an
// image given by ID or digest only has no name, so the Compose service
// label, then the container name stand in.
func (b *builder) defaultName(c *container.InspectResponse, cname string, warn func(string)) string {
	if n := dnsLabel(imageBase(c.Config.Image, c.Image)); n != "" {
		return n
	}
	if v := c.Config.Labels["com.docker.compose.service"]; v != "" {
		if n := dnsLabel(v); n != "" {
			return n
		}
	}
	n := dnsLabel(cname)
	if n == "" {
		n = "container-" + shortID(c.ID)
	}
	if len(cname) > maxLabelLen {
		warn(fmt.Sprintf("container name of %d characters is longer than a DNS label; service name %q", len(cname), n))
	}
	return n
}

// imageBase strips registry, repository path, tag and digest. It returns
// "" when the reference is an image ID (sha256:..., or a hex prefix of the
// container's image ID).
func imageBase(ref, imageID string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if ref == "" || strings.HasPrefix(ref, "sha256:") {
		return ""
	}
	base := path.Base(ref)
	if i := strings.Index(base, ":"); i >= 0 {
		base = base[:i]
	}
	hexID := strings.TrimPrefix(imageID, "sha256:")
	if len(base) >= 12 && strings.HasPrefix(hexID, base) {
		return ""
	}
	return base
}

// dnsLabel makes s a DNS label: characters other than letters, digits and
// '-' become '-', runs of '-' collapse, none at either end, at most 63.
func dnsLabel(s string) string {
	var sb strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		if !ok {
			if !dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			dash = true
			continue
		}
		dash = false
		sb.WriteRune(r)
	}
	out := strings.TrimRight(sb.String(), "-")
	if len(out) > maxLabelLen {
		out = strings.TrimRight(out[:maxLabelLen], "-")
	}
	return out
}

// cleanTags drops empty, duplicate and control-character tags and caps
// the count.
func cleanTags(tags []string, warn func(string)) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t == "" || seen[t] {
			continue
		}
		if strings.IndexFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			warn(fmt.Sprintf("tag %q contains control characters; dropped", t))
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) > maxTags {
		warn(fmt.Sprintf("SERVICE_TAGS: %d tags, more than %d; keeping the first %d", len(out), maxTags, maxTags))
		out = out[:maxTags]
	}
	return out
}

// meta is the registration's Meta: the provenance keys, then every
// SERVICE_<key> the registrar does not interpret, within Consul's limits.
func (b *builder) meta(c *container.InspectResponse, cname string, attrs map[string]metaValue, warn func(string)) map[string]string {
	m := map[string]string{
		MetaSource: sourceDocker, MetaContainerID: c.ID, MetaContainerName: truncate(cname, maxMetaValueLen),
		MetaImage: truncate(c.Config.Image, maxMetaValueLen), MetaRegistrar: b.cfg.Hostname,
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if !isKnownKey(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := attrs[k]
		switch {
		case m[k] != "":
			warn(fmt.Sprintf("%s: Meta key %q is set by the registrar; ignored", v.source, k))
		case strings.HasPrefix(k, "consul-"):
			warn(fmt.Sprintf("%s: Meta keys starting with \"consul-\" are reserved by Consul; ignored", v.source))
		case len(k) > maxMetaKeyLen || strings.IndexFunc(k, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}) >= 0:
			warn(fmt.Sprintf("%s: %q is not a valid Meta key (letters, digits, '_' and '-', at most %d); ignored", v.source, k, maxMetaKeyLen))
		case len(v.value) > maxMetaValueLen:
			warn(fmt.Sprintf("%s: value of %d bytes is longer than Consul's %d; ignored", v.source, len(v.value), maxMetaValueLen))
		case len(m) >= maxMetaPairs:
			warn(fmt.Sprintf("%s: more than %d Meta keys; ignored", v.source, maxMetaPairs))
		default:
			m[k] = v.value
		}
	}
	return m
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// healthStatus maps Docker's health to a check status: healthy passing,
// unhealthy critical, starting critical unless SERVICE_CHECK_INITIAL_STATUS
// says otherwise.
func healthStatus(c *container.InspectResponse, attrs map[string]metaValue) (status, output string) {
	h := c.State.Health
	if h == nil {
		return initialStatus(attrs), ""
	}
	if n := len(h.Log); n > 0 && h.Log[n-1] != nil {
		output = strings.TrimSpace(h.Log[n-1].Output)
	}
	switch h.Status {
	case container.Healthy:
		return structs.HealthPassing, output
	case container.Unhealthy:
		return structs.HealthCritical, output
	}
	if output == "" {
		output = "Docker reports the container's health as " + h.Status
	}
	return initialStatus(attrs), output
}

func initialStatus(attrs map[string]metaValue) string {
	if v, ok := attrs["check_initial_status"]; ok && validStatus(v.value) {
		return v.value
	}
	return structs.HealthCritical
}

func validStatus(s string) bool {
	return s == structs.HealthPassing || s == structs.HealthWarning || s == structs.HealthCritical
}
