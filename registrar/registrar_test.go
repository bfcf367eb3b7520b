package registrar_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/registrar"
	"github.com/minconsul/minconsul/testutil"
)

// TestRegistrar_RunDNS: a published port is in DNS (A = advertise address,
// SRV = host port) with its provenance Meta; stop, kill, rm -f and pause
// take it out, unpause brings it back.
func TestRegistrar_RunDNS(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", nil)
	svcName := "minconsul-registrar-test" // the image's base name

	ids := map[string]string{}
	names := map[string]string{}
	for _, op := range []string{"stop", "kill", "rm", "pause"} {
		ids[op], names[op] = s.create(ctr{name: op, publish: []string{"8080/tcp"}})
	}
	for _, op := range []string{"stop", "kill", "rm", "pause"} {
		sid := h.cfg.Hostname + ":" + names[op] + ":8080"
		svc := h.service(sid)
		port, _ := strconv.Atoi(s.hostPort(ids[op], "8080/tcp"))
		if svc.Service != svcName || svc.Port != port || svc.Address != "127.0.0.1" {
			t.Fatalf("%s: registered %+v, want %s on 127.0.0.1:%d", op, svc, svcName, port)
		}
		for k, v := range map[string]string{registrar.MetaSource: "docker", registrar.MetaContainerID: ids[op],
			registrar.MetaContainerName: names[op], registrar.MetaImage: s.image} {
			if svc.Meta[k] != v {
				t.Errorf("%s: Meta[%s] = %q, want %q", op, k, svc.Meta[k], v)
			}
		}
		waitSRV(t, h.agent.DNSAddr(), svcName+".service.consul", uint16(port))
	}
	r := testutil.DNSQuery(t, h.agent.DNSAddr(), svcName+".service.consul", dns.TypeA)
	if len(r.Answer) == 0 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("A answer %v", r.Answer)
	}

	zero := 0
	s.do("stop", func(ctx context.Context) error {
		return s.cli.ContainerStop(ctx, ids["stop"], container.StopOptions{Timeout: &zero})
	})
	s.do("kill", func(ctx context.Context) error { return s.cli.ContainerKill(ctx, ids["kill"], "KILL") })
	s.do("rm -f", func(ctx context.Context) error {
		return s.cli.ContainerRemove(ctx, ids["rm"], container.RemoveOptions{Force: true})
	})
	s.do("pause", func(ctx context.Context) error { return s.cli.ContainerPause(ctx, ids["pause"]) })
	for _, op := range []string{"stop", "kill", "rm", "pause"} {
		h.gone(h.cfg.Hostname + ":" + names[op] + ":8080")
	}
	waitSRV(t, h.agent.DNSAddr(), svcName+".service.consul", 0)
	s.do("unpause", func(ctx context.Context) error { return s.cli.ContainerUnpause(ctx, ids["pause"]) })
	h.service(h.cfg.Hostname + ":" + names["pause"] + ":8080")
	// The agent has the service a moment before the registrar's own
	// count, which it updates when its register call has returned.
	testutil.Retry(t, 10*time.Second, func() error {
		if st := h.reg.Status(); !st.Connected || st.APIVersion == "" || st.Services != 1 || st.LastEvent == nil {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
}

// TestRegistrar_NamesAndLabels: multi-port naming, SERVICE_* env and
// labels (labels win, port-specific beats generic), tags and Meta, ignore,
// UDP, and an IPv6-only binding answering AAAA.
func TestRegistrar_NamesAndLabels(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", func(c *registrar.Config) { c.Tags = "forced" })
	_, multi := s.create(ctr{name: "multi", ports: "8080,9090", publish: []string{"8080/tcp", "9090/tcp"}})
	_, lbl := s.create(ctr{name: "labels", publish: []string{"8080/tcp"},
		env:    []string{"SERVICE_NAME=from-env", "SERVICE_TAGS=env-tag", "SERVICE_REGION=env", "SERVICE_8080_TAGS=port-tag"},
		labels: map[string]string{"SERVICE_NAME": "from-label", "SERVICE_REGION": "label"}})
	_, ign := s.create(ctr{name: "ignored", publish: []string{"8080/tcp"}, labels: map[string]string{"SERVICE_IGNORE": "true"}})
	_, part := s.create(ctr{name: "part", ports: "8080,9090", publish: []string{"8080/tcp", "9090/tcp", "53/udp"},
		env: []string{"SERVICE_9090_IGNORE=1", "SERVICE_8080_NAME=web-main"}})
	_, v6 := s.create(ctr{name: "v6", publish: []string{"[::1]::8080"}, labels: map[string]string{"SERVICE_NAME": "v6only-" + s.id}})

	hn := h.cfg.Hostname
	for id, want := range map[string]string{
		hn + ":" + multi + ":8080": "minconsul-registrar-test-8080", hn + ":" + multi + ":9090": "minconsul-registrar-test-9090",
		hn + ":" + part + ":8080": "web-main", hn + ":" + part + ":53:udp": "minconsul-registrar-test-53",
	} {
		if got := h.service(id).Service; got != want {
			t.Errorf("%s: name %q, want %q", id, got, want)
		}
	}
	l := h.service(hn + ":" + lbl + ":8080")
	if l.Service != "from-label" || strings.Join(l.Tags, ",") != "port-tag,forced" || l.Meta["region"] != "label" {
		t.Errorf("labels: %+v", l)
	}
	if u := h.service(hn + ":" + part + ":53:udp"); strings.Join(u.Tags, ",") != "forced,udp" {
		t.Errorf("udp tags %q", u.Tags)
	}
	v := h.service(hn + ":" + v6 + ":8080")
	if v.Address != "::1" {
		t.Fatalf("IPv6 binding registered as %q", v.Address)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		r := testutil.DNSQuery(t, h.agent.DNSAddr(), "v6only-"+s.id+".service.consul", dns.TypeAAAA)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.AAAA).AAAA.String() != "::1" {
			return fmt.Errorf("AAAA %v", r.Answer)
		}
		return nil
	})
	h.handled(ign, 0)
	if h.ours()[hn+":"+part+":9090"] != nil {
		t.Errorf("SERVICE_9090_IGNORE: port registered")
	}
}

// TestRegistrar_Options: -internal (container IP and private port, network
// by SERVICE_NETWORK), -ip, -explicit, and a user-defined network whose
// published port registers the host binding, not the container IP.
func TestRegistrar_Options(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	netA, netB := s.network("a"), s.network("b")
	_, onNet := s.create(ctr{name: "usernet", network: netA, publish: []string{"127.0.0.1::8080"}})
	plain := newHarness(t, s, "", nil)
	svc := plain.service(plain.cfg.Hostname + ":" + onNet + ":8080")
	if svc.Address != "127.0.0.1" || svc.Port == 8080 {
		t.Fatalf("user-defined network: registered %s:%d, want the host binding", svc.Address, svc.Port)
	}

	internal := newHarness(t, s, "", func(c *registrar.Config) { c.Internal = true; c.Hostname += "-internal" })
	id, onB := s.create(ctr{name: "netb", network: netB, env: []string{"SERVICE_NETWORK=" + netB}})
	var ip string
	s.do("inspect", func(ctx context.Context) error {
		c, err := s.cli.ContainerInspect(ctx, id)
		if err == nil {
			ip = c.NetworkSettings.Networks[netB].IPAddress
		}
		return err
	})
	got := internal.service(internal.cfg.Hostname + ":" + onB + ":8080")
	if got.Address != ip || got.Port != 8080 {
		t.Fatalf("-internal: registered %s:%d, want %s:8080", got.Address, got.Port, ip)
	}

	forced := newHarness(t, s, "", func(c *registrar.Config) { c.HostIP = "192.0.2.7"; c.Explicit = true; c.Hostname += "-ip" })
	_, named := s.create(ctr{name: "named", publish: []string{"8080/tcp"}, env: []string{"SERVICE_NAME=explicit"}})
	if got := forced.service(forced.cfg.Hostname + ":" + named + ":8080"); got.Address != "192.0.2.7" || got.Service != "explicit" {
		t.Fatalf("-ip/-explicit: %+v", got)
	}
	// -explicit: the unnamed containers above never show up for it.
	forced.handled(onNet, 0)
}
