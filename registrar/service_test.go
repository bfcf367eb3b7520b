package registrar

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/minconsul/minconsul/structs"
)

// fake builds an inspected container: running on the default bridge with
// IP 172.17.0.5; ports maps "8080/tcp" to its host bindings ("" for
// exposed only, "0.0.0.0:32768" or "[::]:32768" or "10.0.0.7:80").
func fake(image, name string, ports map[string][]string, env []string, labels map[string]string) *container.InspectResponse {
	c := &container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: "0123456789abcdef0123456789abcdef", Name: "/" + name, Image: "sha256:feedfacefeedfacefeedface",
			State:      &container.State{Running: true},
			HostConfig: &container.HostConfig{NetworkMode: "default"},
		},
		Config: &container.Config{Image: image, Env: env, Labels: labels, ExposedPorts: nat.PortSet{}},
		NetworkSettings: &container.NetworkSettings{
			NetworkSettingsBase: container.NetworkSettingsBase{Ports: nat.PortMap{}},
			Networks:            map[string]*network.EndpointSettings{"bridge": {IPAddress: "172.17.0.5"}},
		},
	}
	if c.Config.Labels == nil {
		c.Config.Labels = map[string]string{}
	}
	for p, binds := range ports {
		port := nat.Port(p)
		c.Config.ExposedPorts[port] = struct{}{}
		var pb []nat.PortBinding
		for _, b := range binds {
			if b == "" {
				continue
			}
			i := strings.LastIndex(b, ":")
			pb = append(pb, nat.PortBinding{HostIP: b[:i], HostPort: b[i+1:]})
		}
		c.NetworkSettings.Ports[port] = pb
	}
	return c
}

func testBuilder(cfg Config) *builder {
	if cfg.Hostname == "" {
		cfg.Hostname = "host1"
	}
	if cfg.AdvertiseAddr == "" {
		cfg.AdvertiseAddr = "10.0.0.2"
	}
	cfg.setDefaults()
	tags, err := newTagTemplate(cfg.Tags)
	if err != nil {
		panic(err)
	}
	return &builder{cfg: &cfg, tags: tags}
}

type want struct {
	id, name, addr string
	port           int
	tags           []string
	meta           map[string]string // checked keys only
}

func TestBuild_Rules(t *testing.T) {
	dual := []string{"0.0.0.0:32768", "[::]:32768"}
	cases := []struct {
		name  string
		cfg   Config
		c     *container.InspectResponse
		want  []want
		warns []string // substrings, in order
	}{
		{"single published port", Config{}, fake("progrium/redis:latest", "redis.0", map[string][]string{"6379/tcp": dual}, nil, nil),
			[]want{{id: "host1:redis.0:6379", name: "redis", addr: "10.0.0.2", port: 32768}}, nil},
		{"registry, tag and digest stripped", Config{},
			fake("registry.example.com:5000/team/web:1.2@sha256:abcd", "w", map[string][]string{"80/tcp": {"0.0.0.0:8000"}}, nil, nil),
			[]want{{id: "host1:w:80", name: "web", addr: "10.0.0.2", port: 8000}}, nil},
		{"image by ID falls back to the compose service", Config{},
			fake("sha256:0123456789abcdef", "proj-api-1", map[string][]string{"8080/tcp": {"0.0.0.0:8080"}}, nil,
				map[string]string{"com.docker.compose.service": "api"}),
			[]want{{id: "host1:proj-api-1:8080", name: "api", port: 8080}}, nil},
		{"image by short ID falls back to the container name", Config{},
			fake("feedfacefeed", "my_app.1", map[string][]string{"8080/tcp": {"0.0.0.0:8080"}}, nil, nil),
			[]want{{id: "host1:my_app.1:8080", name: "my-app-1", port: 8080}}, nil},
		{"multi-port names get the private port", Config{},
			fake("nginx", "nginx.0", map[string][]string{"443/tcp": {"0.0.0.0:4443"}, "80/tcp": {"0.0.0.0:8000"}}, nil, nil),
			[]want{{id: "host1:nginx.0:80", name: "nginx-80", port: 8000}, {id: "host1:nginx.0:443", name: "nginx-443", port: 4443}}, nil},
		{"registrator's metadata example", Config{},
			fake("progrium/nginx", "nginx.0", map[string][]string{"443/tcp": {"0.0.0.0:4443"}, "80/tcp": {"0.0.0.0:8000"}},
				[]string{"SERVICE_443_NAME=https", "SERVICE_443_ID=https.12345", "SERVICE_443_SNI=enabled", "SERVICE_80_NAME=http", "SERVICE_TAGS=www"}, nil),
			[]want{{id: "host1:nginx.0:80", name: "http", port: 8000, tags: []string{"www"}},
				{id: "https.12345", name: "https", port: 4443, tags: []string{"www"}, meta: map[string]string{"sni": "enabled"}}}, nil},
		{"SERVICE_NAME on several ports still gets suffixes", Config{},
			fake("x", "c", map[string][]string{"1/tcp": {"0.0.0.0:1"}, "2/tcp": {"0.0.0.0:2"}}, []string{"SERVICE_NAME=db"}, nil),
			[]want{{id: "host1:c:1", name: "db-1", port: 1}, {id: "host1:c:2", name: "db-2", port: 2}}, nil},
		{"labels beat env, port-specific beats generic", Config{},
			fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:80"}},
				[]string{"SERVICE_NAME=envname", "SERVICE_80_TAGS=env80", "SERVICE_REGION=env"},
				map[string]string{"SERVICE_NAME": "labelname", "SERVICE_TAGS": "generic", "SERVICE_REGION": "label"}),
			[]want{{name: "labelname", tags: []string{"env80"}, meta: map[string]string{"region": "label", MetaSource: "docker"}}}, nil},
		{"only exposed ports are not services", Config{},
			fake("x", "c", map[string][]string{"80/tcp": nil, "81/tcp": {"0.0.0.0:81"}}, nil, nil),
			[]want{{id: "host1:c:81", name: "x", port: 81}}, nil},
		{"udp gets an ID suffix and a tag", Config{Tags: "a,b"},
			fake("dns", "c", map[string][]string{"53/udp": {"0.0.0.0:5353"}}, nil, nil),
			[]want{{id: "host1:c:53:udp", name: "dns", port: 5353, tags: []string{"a", "b", "udp"}}}, nil},
		{"-ip wins over the binding", Config{HostIP: "192.0.2.9"},
			fake("x", "c", map[string][]string{"80/tcp": {"10.0.0.7:80"}}, nil, nil),
			[]want{{addr: "192.0.2.9", port: 80}}, nil},
		{"specific IPv4 binding", Config{},
			fake("x", "c", map[string][]string{"80/tcp": {"10.0.0.7:8080"}}, nil, nil),
			[]want{{addr: "10.0.0.7", port: 8080}}, nil},
		{"IPv6 binding", Config{},
			fake("x", "c", map[string][]string{"80/tcp": {"[2001:db8::7]:8080"}}, nil, nil),
			[]want{{addr: "2001:db8::7", port: 8080}}, nil},
		{"-useIpFromLabel", Config{UseIPFromLabel: "overlay.ip"},
			fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:8080"}}, nil, map[string]string{"overlay.ip": "192.0.2.44/24"}),
			[]want{{addr: "192.0.2.44", port: 8080}}, nil},
		{"-useIpFromLabel with junk keeps the address", Config{UseIPFromLabel: "overlay.ip"},
			fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:8080"}}, nil, map[string]string{"overlay.ip": "nope"}),
			[]want{{addr: "10.0.0.2"}}, []string{`label overlay.ip="nope" is not an IP address`}},
		{"-internal: container IP and private port", Config{Internal: true},
			fake("x", "c", map[string][]string{"80/tcp": nil}, nil, nil),
			[]want{{id: "host1:c:80", addr: "172.17.0.5", port: 80}}, nil},
		{"-explicit skips unnamed", Config{Explicit: true},
			fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:80"}, "81/tcp": {"0.0.0.0:81"}}, []string{"SERVICE_81_NAME=named"}, nil),
			[]want{{id: "host1:c:81", name: "named", port: 81}}, nil},
		{"ignore", Config{}, fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:80"}}, []string{"SERVICE_IGNORE=1"}, nil), nil, nil},
		{"ignore=false does not ignore", Config{}, fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:80"}}, []string{"SERVICE_IGNORE=false"}, nil),
			[]want{{name: "x"}}, nil},
		{"port ignore", Config{},
			fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:80"}, "81/tcp": {"0.0.0.0:81"}}, []string{"SERVICE_80_IGNORE=yes"}, nil),
			[]want{{id: "host1:c:81", name: "x-81"}}, nil},
		{"generic SERVICE_ID on several ports stays unique", Config{},
			fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:80"}, "81/tcp": {"0.0.0.0:81"}}, []string{"SERVICE_ID=mine"}, nil),
			[]want{{id: "mine:80"}, {id: "mine:81"}}, nil},
		{"odd labels warn and keep what is valid", Config{},
			fake("x", "c", map[string][]string{"8080/tcp": {"0.0.0.0:80"}},
				[]string{"SERVICE_8080_NAME=", "SERVICE_80x_NAME=bad", "SERVICE_NAME=Web Server!", "SERVICE_com.example=1"}, nil),
			[]want{{name: "Web-Server", meta: map[string]string{"com.example": ""}}},
			[]string{`SERVICE_8080_NAME is empty`, `"80x" is not a port number`, `not a valid DNS label`, `not a valid Meta key`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, warns := testBuilder(tc.cfg).build(tc.c, nil)
			if len(got) != len(tc.want) {
				t.Fatalf("%d services, want %d: %+v (warnings %q)", len(got), len(tc.want), defs(got), warns)
			}
			for i, w := range tc.want {
				d := got[i].def
				if w.id != "" && d.ID != w.id {
					t.Errorf("[%d] ID %q, want %q", i, d.ID, w.id)
				}
				if w.name != "" && d.Name != w.name {
					t.Errorf("[%d] Name %q, want %q", i, d.Name, w.name)
				}
				if w.addr != "" && d.Address != w.addr {
					t.Errorf("[%d] Address %q, want %q", i, d.Address, w.addr)
				}
				if w.port != 0 && d.Port != w.port {
					t.Errorf("[%d] Port %d, want %d", i, d.Port, w.port)
				}
				if w.tags != nil && !reflect.DeepEqual(d.Tags, w.tags) {
					t.Errorf("[%d] Tags %q, want %q", i, d.Tags, w.tags)
				}
				for k, v := range w.meta {
					got, ok := d.Meta[k]
					if v == "" && ok {
						t.Errorf("[%d] Meta[%q] = %q, want absent", i, k, got)
					} else if v != "" && got != v {
						t.Errorf("[%d] Meta[%q] = %q, want %q", i, k, got, v)
					}
				}
			}
			for _, w := range tc.warns {
				if !containsSub(warns, w) {
					t.Errorf("no warning containing %q in %q", w, warns)
				}
			}
		})
	}
}

func defs(s []*service) []structs.ServiceDefinition {
	var out []structs.ServiceDefinition
	for _, x := range s {
		out = append(out, *x.def)
	}
	return out
}

func containsSub(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestBuild_NotRunningOrPaused(t *testing.T) {
	b := testBuilder(Config{})
	c := fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:80"}}, nil, nil)
	c.State.Paused = true
	if got, _ := b.build(c, nil); len(got) != 0 {
		t.Fatalf("paused container registered: %+v", defs(got))
	}
	c.State.Paused, c.State.Running = false, false
	if got, _ := b.build(c, nil); len(got) != 0 {
		t.Fatalf("stopped container registered: %+v", defs(got))
	}
}

func TestBuild_HostNetworkAndNetworks(t *testing.T) {
	b := testBuilder(Config{})
	c := fake("x", "c", map[string][]string{"9000/tcp": nil}, nil, nil)
	c.HostConfig.NetworkMode = "host"
	c.NetworkSettings.Ports = nil
	got, _ := b.build(c, nil)
	if len(got) != 1 || got[0].def.Port != 9000 || got[0].def.Address != "10.0.0.2" {
		t.Fatalf("host network: %+v", defs(got))
	}

	bi := testBuilder(Config{Internal: true})
	c = fake("x", "c", map[string][]string{"80/tcp": nil}, []string{"SERVICE_NETWORK=zeta"}, nil)
	c.NetworkSettings.Networks = map[string]*network.EndpointSettings{
		"beta": {IPAddress: "10.1.0.2"}, "alpha": {IPAddress: "10.2.0.2"}, "zeta": {IPAddress: "10.3.0.2", GlobalIPv6Address: "fd00::2"},
	}
	got, _ = bi.build(c, nil)
	if len(got) != 1 || got[0].def.Address != "10.3.0.2" || got[0].def.TaggedAddresses["lan_ipv6"].Address != "fd00::2" {
		t.Fatalf("SERVICE_NETWORK: %+v", defs(got))
	}
	c.Config.Env = nil
	got, _ = bi.build(c, nil)
	if len(got) != 1 || got[0].def.Address != "10.2.0.2" {
		t.Fatalf("first network by name: %+v", defs(got))
	}
}

func TestBuild_Checks(t *testing.T) {
	b := testBuilder(Config{})
	c := fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:8080"}},
		[]string{"SERVICE_80_CHECK_HTTP=/health", "SERVICE_80_CHECK_INTERVAL=15s", "SERVICE_CHECK_TIMEOUT=1s",
			"SERVICE_CHECK_INITIAL_STATUS=passing", "SERVICE_CHECK_DEREGISTER_AFTER=10m", "SERVICE_CHECK_HTTP_METHOD=HEAD"}, nil)
	got, _ := b.build(c, nil)
	chk := got[0].def.Checks[0]
	want := &structs.CheckDefinition{CheckID: "service:host1:c:80", HTTP: "http://10.0.0.2:8080/health", Method: "HEAD",
		Interval: "15s", Timeout: "1s", Status: "passing", DeregisterCriticalServiceAfter: "10m"}
	if !reflect.DeepEqual(chk, want) {
		t.Fatalf("check %+v\nwant %+v", chk, want)
	}
	for _, tc := range []struct {
		env  string
		want structs.CheckDefinition
	}{
		{"SERVICE_CHECK_TCP=true", structs.CheckDefinition{TCP: "10.0.0.2:8080", Interval: "10s"}},
		{"SERVICE_CHECK_TTL=30s", structs.CheckDefinition{TTL: "30s"}},
		{"SERVICE_CHECK_HTTPS=/x", structs.CheckDefinition{HTTP: "https://10.0.0.2:8080/x", Interval: "10s"}},
		{"SERVICE_CHECK_SCRIPT=nc $SERVICE_IP $SERVICE_PORT", structs.CheckDefinition{Args: []string{"/bin/sh", "-c", "nc 10.0.0.2 8080"}, Interval: "10s"}},
		{"SERVICE_CHECK_GRPC=true", structs.CheckDefinition{GRPC: "10.0.0.2:8080", Interval: "10s"}},
	} {
		c := fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:8080"}}, []string{tc.env}, nil)
		got, _ := b.build(c, nil)
		tc.want.CheckID = "service:host1:c:80"
		if len(got[0].def.Checks) != 1 || !reflect.DeepEqual(*got[0].def.Checks[0], tc.want) {
			t.Errorf("%s: checks %+v, want %+v", tc.env, got[0].def.Checks, tc.want)
		}
	}
	c = fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:8080"}},
		[]string{"SERVICE_CHECK_GRPC=true", "SERVICE_CHECK_GRPC_USE_TLS=true", "SERVICE_CHECK_TLS_SKIP_VERIFY=1"}, nil)
	got, _ = b.build(c, nil)
	if want := (structs.CheckDefinition{CheckID: "service:host1:c:80", GRPC: "10.0.0.2:8080", GRPCUseTLS: true,
		TLSSkipVerify: true, Interval: "10s"}); !reflect.DeepEqual(*got[0].def.Checks[0], want) {
		t.Errorf("gRPC with TLS: %+v", got[0].def.Checks[0])
	}
	c = fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:8080"}}, []string{"SERVICE_CHECK_TTL=soon"}, nil)
	got, warns := b.build(c, nil)
	if len(got[0].def.Checks) != 0 || !containsSub(warns, "SERVICE_CHECK_TTL") {
		t.Fatalf("bad TTL: checks %+v warnings %q", got[0].def.Checks, warns)
	}
}

func TestBuild_HealthMirror(t *testing.T) {
	b := testBuilder(Config{})
	c := fake("x", "c", map[string][]string{"80/tcp": {"0.0.0.0:8080"}}, nil, nil)
	c.Config.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/web", "-probe"}}
	for _, tc := range []struct {
		health, initial, want string
	}{
		{container.Starting, "", "critical"},
		{container.Starting, "warning", "warning"},
		{container.Healthy, "warning", "passing"},
		{container.Unhealthy, "passing", "critical"},
	} {
		c.State.Health = &container.Health{Status: tc.health}
		c.Config.Env = nil
		if tc.initial != "" {
			c.Config.Env = []string{"SERVICE_CHECK_INITIAL_STATUS=" + tc.initial}
		}
		got, _ := b.build(c, nil)
		s := got[0]
		if s.healthCheck != "service:host1:c:80:docker-health" || s.health != tc.want {
			t.Errorf("%s/%s: check %q status %q, want %q", tc.health, tc.initial, s.healthCheck, s.health, tc.want)
		}
	}
	c.Config.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
	if got, _ := b.build(c, nil); got[0].healthCheck != "" {
		t.Fatalf("HEALTHCHECK NONE mirrored")
	}
}

func TestBuild_Limits(t *testing.T) {
	b := testBuilder(Config{})
	tags := make([]string, 1000)
	for i := range tags {
		tags[i] = "t" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	long := strings.Repeat("n", 300)
	c := fake("sha256:ffff", long, map[string][]string{"80/tcp": {"0.0.0.0:80"}, "81/tcp": {"0.0.0.0:81"}},
		[]string{"SERVICE_TAGS=" + strings.Join(tags, ",")}, nil)
	got, warns := b.build(c, nil)
	if len(got) != 2 {
		t.Fatalf("%d services", len(got))
	}
	for _, s := range got {
		if len(s.def.Name) > 63 || !strings.HasSuffix(s.def.Name, "-80") && !strings.HasSuffix(s.def.Name, "-81") {
			t.Errorf("name %q (%d chars)", s.def.Name, len(s.def.Name))
		}
		if len(s.def.Tags) != maxTags {
			t.Errorf("%d tags, want %d", len(s.def.Tags), maxTags)
		}
	}
	if !containsSub(warns, "1000 tags") || !containsSub(warns, "300 characters") {
		t.Fatalf("warnings %q", warns)
	}
}

func TestDNSLabelAndImageBase(t *testing.T) {
	for in, want := range map[string]string{
		"web": "web", "my_app": "my-app", "a..b": "a-b", "-x-": "x", "ünï": "n", "@@": "",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		if got := dnsLabel(in); got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct{ ref, id, want string }{
		{"redis", "", "redis"}, {"redis:7", "", "redis"}, {"localhost:5000/a/b:1", "", "b"},
		{"img@sha256:abcd", "", "img"}, {"sha256:abcd", "", ""}, {"abcdef012345", "sha256:abcdef0123456789", ""},
	} {
		if got := imageBase(tc.ref, tc.id); got != tc.want {
			t.Errorf("imageBase(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

func TestSplitTagsAndTemplate(t *testing.T) {
	if got := splitTags(`a, b\,c,,d`); !reflect.DeepEqual(got, []string{"a", "b,c", "d"}) {
		t.Fatalf("splitTags: %q", got)
	}
	tt, err := newTagTemplate(`{{strSlice .ID 0 4}},{{mIndex "team" .Config.Labels | toUpper}},{{splitIndex -1 "/" .Config.Image}}`)
	if err != nil {
		t.Fatal(err)
	}
	c := fake("registry/x/web", "c", nil, nil, map[string]string{"team": "blue"})
	got, err := tt.render(c)
	if err != nil || !reflect.DeepEqual(got, []string{"0123", "BLUE", "web"}) {
		t.Fatalf("render: %q %v", got, err)
	}
	if _, err := newTagTemplate("{{"); err == nil {
		t.Fatal("bad template accepted")
	}
}
