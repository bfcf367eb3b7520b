package registrar_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/registrar"
	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
)

// TestRegistrar_ImageByID: an image given by ID has no name; the Compose
// service label, else the container name, names the service.
func TestRegistrar_ImageByID(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	_, id := testImage(t)
	h := newHarness(t, s, "", nil)
	_, compose := s.create(ctr{name: "compose", image: id, publish: []string{"8080/tcp"},
		labels: map[string]string{"com.docker.compose.service": "api_" + s.id}})
	_, bare := s.create(ctr{name: "bare.1", image: id, publish: []string{"8080/tcp"}})
	if got := h.service(h.cfg.Hostname + ":" + compose + ":8080").Service; got != "api-"+s.id {
		t.Errorf("compose-named: %q, want %q", got, "api-"+s.id)
	}
	if got, want := h.service(h.cfg.Hostname+":"+bare+":8080").Service, strings.ReplaceAll(bare, ".", "-"); got != want {
		t.Errorf("container-named: %q, want %q", got, want)
	}
}

// TestRegistrar_RestartPolicy: a container Docker restarts is registered
// again after each restart, and gone once Docker gives up.
func TestRegistrar_RestartPolicy(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", nil)
	id, name := s.create(ctr{name: "restarts", publish: []string{"8080/tcp"}, args: []string{"-exit-after", "1500ms", "-exit-code", "3"},
		restart: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 1}})
	sid := h.cfg.Hostname + ":" + name + ":8080"
	h.service(sid)
	testutil.Retry(t, 30*time.Second, func() error {
		c, err := s.cli.ContainerInspect(context.Background(), id)
		if err != nil || c.RestartCount < 1 || !c.State.Running {
			return fmt.Errorf("not restarted yet (restarts %d, err %v)", c.RestartCount, err)
		}
		return nil
	})
	h.service(sid)
	testutil.Retry(t, 20*time.Second, func() error {
		if !strings.Contains(h.logs.String(), "deregistered: service="+sid) {
			return fmt.Errorf("no deregistration between the runs logged")
		}
		return nil
	})
	h.gone(sid) // the second run fails too; on-failure:1 gives up
}

// TestRegistrar_DeregisterOnSuccess: with -deregister on-success a failed
// container keeps its service until it is removed; a clean exit removes it.
func TestRegistrar_DeregisterOnSuccess(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", func(c *registrar.Config) { c.DeregisterOnSuccess = true })
	failedID, failed := s.create(ctr{name: "fails", publish: []string{"8080/tcp"}, args: []string{"-exit-after", "1s", "-exit-code", "1"}})
	_, clean := s.create(ctr{name: "clean", publish: []string{"8080/tcp"}, args: []string{"-exit-after", "1s"}})
	fsid, csid := h.cfg.Hostname+":"+failed+":8080", h.cfg.Hostname+":"+clean+":8080"
	h.service(fsid)
	h.service(csid)
	h.gone(csid)
	testutil.Retry(t, 20*time.Second, func() error {
		if !strings.Contains(h.logs.String(), "container="+failedID[:12]+" name="+failed+" exit_code=1") {
			return fmt.Errorf("the failed container's exit was not handled yet")
		}
		return nil
	})
	if h.ours()[fsid] == nil {
		t.Fatal("failed container's service removed with -deregister on-success")
	}
	s.remove(failedID)
	h.gone(fsid)
}

// TestRegistrar_Health: a Docker HEALTHCHECK is mirrored without any
// annotation: starting is critical (out of DNS), healthy passing,
// unhealthy critical (out of DNS and ?passing), healthy again back in.
func TestRegistrar_Health(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", nil)
	svcName := "health-" + s.id
	id, name := s.create(ctr{name: "health", health: true, publish: []string{"127.0.0.1::8080"}, args: []string{"-unhealthy"},
		labels: map[string]string{"SERVICE_NAME": svcName}})
	sid := h.cfg.Hostname + ":" + name + ":8080"
	h.service(sid)
	checkID := "service:" + sid + ":docker-health"
	status := func(want string) {
		t.Helper()
		testutil.Retry(t, 20*time.Second, func() error {
			c := h.agent.Checks()[checkID]
			if c == nil || c.Status != want {
				return fmt.Errorf("check %s: %+v, want %s", checkID, c, want)
			}
			return nil
		})
	}
	status(structs.HealthCritical) // starting (and /health fails)
	port := s.hostPort(id, "8080/tcp")
	put := func(path string) {
		t.Helper()
		// Docker's port proxy accepts before the server listens: retry.
		testutil.Retry(t, 10*time.Second, func() error {
			req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:"+port+path, nil)
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("PUT %s: %s", path, resp.Status)
			}
			return nil
		})
	}
	put("/health/ok")
	status(structs.HealthPassing)
	waitSRV(t, h.agent.DNSAddr(), svcName+".service.consul", uint16(mustAtoi(t, port)))
	put("/health/fail")
	status(structs.HealthCritical)
	waitSRV(t, h.agent.DNSAddr(), svcName+".service.consul", 0)
	c, err := api.NewClient(&api.Config{Address: h.agent.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _, err := c.Health().Service(svcName, "", true, nil); err != nil || len(entries) != 0 {
		t.Fatalf("?passing while unhealthy: %d entries, %v", len(entries), err)
	}
	put("/health/ok")
	status(structs.HealthPassing)
	waitSRV(t, h.agent.DNSAddr(), svcName+".service.consul", uint16(mustAtoi(t, port)))
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRegistrar_OddLabels: odd labels are warned about, naming the
// container and the label, and what is valid is registered; a check the
// agent refuses (script checks are off) costs the check, not the service.
func TestRegistrar_OddLabels(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", nil)
	tags := make([]string, 1000)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	long := strings.Repeat("x", 300)
	_, name := s.create(ctr{name: "odd", publish: []string{"8080/tcp"}, labels: map[string]string{
		"SERVICE_8080_NAME": "", "SERVICE_80a_NAME": "bad", "SERVICE_TAGS": strings.Join(tags, ","),
		"SERVICE_NAME": long, "SERVICE_CHECK_SCRIPT": "true", "SERVICE_CHECK_INTERVAL": "often",
	}})
	svc := h.service(h.cfg.Hostname + ":" + name + ":8080")
	if svc.Service != strings.Repeat("x", 63) || len(svc.Tags) != 128 {
		t.Fatalf("registered %q with %d tags", svc.Service, len(svc.Tags))
	}
	for _, want := range []string{
		"label SERVICE_8080_NAME is empty; ignored: container=",
		`label SERVICE_80a_NAME: "80a" is not a port number`,
		"SERVICE_TAGS: 1000 tags",
		`label SERVICE_CHECK_INTERVAL="often" is not a positive duration`,
		"agent refused the SERVICE_CHECK_* check; registering without it",
		"name=" + name,
	} {
		if !strings.Contains(h.logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestRegistrar_Rename: a renamed container's service takes the new name
// in its ID; the old ID goes.
func TestRegistrar_Rename(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	h := newHarness(t, s, "", nil)
	id, name := s.create(ctr{name: "before", publish: []string{"8080/tcp"}})
	h.service(h.cfg.Hostname + ":" + name + ":8080")
	renamed := name + "-after"
	s.do("rename", func(ctx context.Context) error { return s.cli.ContainerRename(ctx, id, renamed) })
	if got := h.service(h.cfg.Hostname + ":" + renamed + ":8080"); got.Meta[registrar.MetaContainerName] != renamed {
		t.Fatalf("renamed: Meta %v", got.Meta)
	}
	h.gone(h.cfg.Hostname + ":" + name + ":8080")
}

// TestRegistrar_CleanupAndResync: -cleanup removes registrator-style
// services of this host whose container is gone (and keeps those of
// running containers and of other hosts); -resync restores a registration
// removed behind the registrar's back.
func TestRegistrar_CleanupAndResync(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	_, name := s.create(ctr{name: "legacy", publish: []string{"8080/tcp"}})
	h := newHarness(t, s, "", func(c *registrar.Config) { c.Cleanup = true; c.Resync = 300 * time.Millisecond })
	sid := h.cfg.Hostname + ":" + name + ":8080"
	h.service(sid)
	ctx := context.Background()
	dangling := h.cfg.Hostname + ":gone-container:8080"
	otherHost := "otherhost:gone-container:8080"
	running := h.cfg.Hostname + ":" + name + ":9999"
	for _, id := range []string{dangling, otherHost, running} {
		if err := h.agent.ServiceRegister(ctx, &structs.ServiceDefinition{ID: id, Name: "legacy", Port: 1}, false); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Retry(t, 20*time.Second, func() error {
		svcs := h.agent.Services()
		if svcs[dangling] != nil {
			return fmt.Errorf("dangling registrator service still registered")
		}
		if svcs[otherHost] == nil || svcs[running] == nil {
			return fmt.Errorf("cleanup removed another host's or a running container's service")
		}
		return nil
	})
	if err := h.agent.ServiceDeregister(ctx, sid); err != nil {
		t.Fatal(err)
	}
	h.service(sid) // put back by the next resync
}
