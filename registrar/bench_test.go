package registrar_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/miekg/dns"

	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
)

// The benchmarks measure end-to-end figures once per run (use
// -benchtime=1x), each next to a baseline measured in the same run:
//
//	go test -run '^$' -bench . -benchtime=1x ./registrar
//
// Reported as custom metrics (ms, MiB, CPU ticks) and ratios.

// startEvents follows the scope's container start events and hands the
// engine's timestamp of each, by container name.
func startEvents(b *testing.B, s *scope) (get func(name string) time.Time, stop func()) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := filters.NewArgs(filters.Arg("type", "container"), filters.Arg("event", "start"), filters.Arg("label", s.labelFilter()))
	msgs, errs := s.cli.Events(ctx, events.ListOptions{Filters: f})
	var mu sync.Mutex
	seen := map[string]time.Time{}
	cond := sync.NewCond(&mu)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case m := <-msgs:
				mu.Lock()
				seen[m.Actor.Attributes["name"]] = time.Unix(0, m.TimeNano)
				cond.Broadcast()
				mu.Unlock()
			case <-errs:
				mu.Lock()
				cond.Broadcast()
				mu.Unlock()
				return
			}
		}
	}()
	get = func(name string) time.Time {
		mu.Lock()
		defer mu.Unlock()
		for seen[name].IsZero() {
			select {
			case <-done:
				b.Fatalf("event stream ended before %s started", name)
			default:
			}
			cond.Wait()
		}
		return seen[name]
	}
	return get, func() { cancel(); <-done }
}

// poll polls f every millisecond (for at most 20 s) and returns when it
// first held; a measurement helper, not a test wait.
func poll(f func() bool) (time.Time, bool) {
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(time.Millisecond)
	}
	return time.Now(), true
}

// until is poll on the benchmark's goroutine: it fails the benchmark.
func until(b *testing.B, what string, f func() bool) time.Time {
	b.Helper()
	at, ok := poll(f)
	if !ok {
		b.Fatalf("%s: not within 20s", what)
	}
	return at
}

// srvAndHTTP polls, side by side, for the service's SRV answer and for the
// container's own HTTP port: the registrar's figure and its baseline.
func srvAndHTTP(b *testing.B, dnsAddr, svc, port string) (srvAt, httpAt time.Time) {
	b.Helper()
	var okSRV, okHTTP bool
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		srvAt, okSRV = poll(func() bool { return srvAnswers(dnsAddr, svc+".service.consul", 0) })
	}()
	go func() {
		defer wg.Done()
		httpAt, okHTTP = poll(func() bool { return httpAnswers("http://127.0.0.1:" + port + "/health") })
	}()
	wg.Wait()
	if !okSRV || !okHTTP {
		b.Fatalf("%s: SRV answered %v, HTTP answered %v within 20s", svc, okSRV, okHTTP)
	}
	return srvAt, httpAt
}

func srvAnswers(addr, name string, port int) bool {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeSRV)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, addr)
	if err != nil {
		return false
	}
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok && (port == 0 || int(srv.Port) == port) {
			return true
		}
	}
	return false
}

func httpAnswers(url string) bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

type quantiles struct{ median, p99 time.Duration }

func quant(d []time.Duration) quantiles {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return quantiles{median: s[len(s)/2], p99: s[(len(s)*99+99)/100-1]}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// BenchmarkStartToSRV: from a container's start event to its SRV answer,
// over 50 containers started one after the other. Baselines in the same
// run: the start event to the container's own HTTP port answering, and a
// bare PUT /v1/agent/service/register to its SRV answer.
func BenchmarkStartToSRV(b *testing.B) {
	s := newScope(b)
	h := newHarness(b, s, "", nil)
	get, stop := startEvents(b, s)
	defer stop()
	const n = 50
	var toSRV, toHTTP, bare []time.Duration
	for i := 0; i < n; i++ {
		svc := fmt.Sprintf("lat%d-%s", i, s.id)
		id, name := s.create(ctr{name: fmt.Sprint(i), publish: []string{"127.0.0.1::8080"}, noStart: true,
			labels: map[string]string{"SERVICE_NAME": svc}})
		s.do("start", func(ctx context.Context) error { return s.cli.ContainerStart(ctx, id, container.StartOptions{}) })
		port := s.hostPort(id, "8080/tcp")
		srvAt, httpAt := srvAndHTTP(b, h.agent.DNSAddr(), svc, port)
		ev := get(name)
		toSRV, toHTTP = append(toSRV, srvAt.Sub(ev)), append(toHTTP, httpAt.Sub(ev))
		s.remove(id)

		bareName := fmt.Sprintf("bare%d-%s", i, s.id)
		t0 := time.Now()
		if err := h.agent.ServiceRegister(context.Background(), &structs.ServiceDefinition{ID: bareName, Name: bareName, Port: 9000 + i}, false); err != nil {
			b.Fatal(err)
		}
		bare = append(bare, until(b, "SRV "+bareName, func() bool { return srvAnswers(h.agent.DNSAddr(), bareName+".service.consul", 0) }).Sub(t0))
	}
	q, qh, qb := quant(toSRV), quant(toHTTP), quant(bare)
	b.ReportMetric(ms(q.median), "start→SRV-median-ms")
	b.ReportMetric(ms(q.p99), "start→SRV-p99-ms")
	b.ReportMetric(ms(qh.median), "start→HTTP-median-ms")
	b.ReportMetric(ms(qb.median), "bare-register→SRV-median-ms")
	b.ReportMetric(float64(q.median)/float64(qh.median), "SRV/HTTP-median")
	b.ReportMetric(float64(q.median)/float64(qb.median), "SRV/bare-median")
}

// BenchmarkDockerRunToDNS: `docker run -d -p` (the CLI, as a user types
// it) to the SRV answer, next to the same command to the container's HTTP
// port answering.
func BenchmarkDockerRunToDNS(b *testing.B) {
	s := newScope(b)
	h := newHarness(b, s, "", nil)
	const n = 10
	var toDNS, toHTTP []time.Duration
	for i := 0; i < n; i++ {
		svc := fmt.Sprintf("run%d-%s", i, s.id)
		name := fmt.Sprintf("mcreg-%s-run%d", s.id, i)
		t0 := time.Now()
		out, err := exec.Command("docker", "run", "-d", "--name", name, "-l", s.labelFilter(), "-l", "SERVICE_NAME="+svc,
			"-p", "127.0.0.1::8080", s.image, "-port", "8080").CombinedOutput()
		if err != nil {
			b.Fatalf("docker run: %v %s", err, out)
		}
		id := strings.TrimSpace(string(out))
		b.Cleanup(func() { s.remove(id) })
		port := s.hostPort(id, "8080/tcp")
		dnsAt, httpAt := srvAndHTTP(b, h.agent.DNSAddr(), svc, port)
		toDNS, toHTTP = append(toDNS, dnsAt.Sub(t0)), append(toHTTP, httpAt.Sub(t0))
	}
	q, qh := quant(toDNS), quant(toHTTP)
	b.ReportMetric(ms(q.median), "run→DNS-median-ms")
	b.ReportMetric(ms(qh.median), "run→HTTP-median-ms")
	b.ReportMetric(float64(q.median)/float64(qh.median), "DNS/HTTP-median")
}

// BenchmarkChurn50: 50 containers started concurrently, then 25 of them
// stopped or removed concurrently: the time from the last start (die)
// event to the registrations being exactly the running set, next to the
// last start event to every container's HTTP port answering.
func BenchmarkChurn50(b *testing.B) {
	s := newScope(b)
	h := newHarness(b, s, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := filters.NewArgs(filters.Arg("type", "container"), filters.Arg("label", s.labelFilter()))
	msgs, _ := s.cli.Events(ctx, events.ListOptions{Filters: f})
	var mu sync.Mutex
	var last time.Time
	go func() {
		for m := range msgs {
			if m.Action == "start" || m.Action == "die" {
				mu.Lock()
				if t := time.Unix(0, m.TimeNano); t.After(last) {
					last = t
				}
				mu.Unlock()
			}
		}
	}()
	lastEvent := func() time.Time { mu.Lock(); defer mu.Unlock(); return last }
	// The running set is known from what the benchmark did (asking Docker
	// every millisecond would load the engine being measured).
	const n = 50
	ids, names := make([]string, n), make([]string, n)
	exactFrom := func(from int) func() bool {
		want := map[string]bool{}
		for _, name := range names[from:] {
			want[h.cfg.Hostname+":"+name+":8080"] = true
		}
		return func() bool { return sameKeys(h.ours(), want) }
	}
	// Watch while Docker works: its calls return only after its own
	// clean-up, which is not the registrar's latency.
	watch := func(what string, f func() bool) func() time.Time {
		ch := make(chan time.Time, 1)
		go func() {
			at, _ := poll(f)
			ch <- at
		}()
		return func() time.Time {
			at := <-ch
			if at.IsZero() {
				b.Fatalf("%s: not within 20s", what)
			}
			return at
		}
	}
	for i := range names {
		names[i] = fmt.Sprintf("mcreg-%s-c%d", s.id, i)
	}
	up := watch("registrations = running (start)", exactFrom(0))
	parallel(n, 10, func(i int) {
		ids[i], _ = s.create(ctr{fullName: names[i], publish: []string{"127.0.0.1::8080"}})
	})
	var ports []string
	for _, id := range ids {
		ports = append(ports, s.hostPort(id, "8080/tcp"))
	}
	allHTTP := watch("all HTTP", func() bool {
		for _, p := range ports {
			if !httpAnswers("http://127.0.0.1:" + p + "/health") {
				return false
			}
		}
		return true
	})
	upAt := up()
	httpAt := allHTTP()
	startLast := lastEvent()
	zero := 0
	down := watch("registrations = running (stop)", exactFrom(n/2))
	parallel(n/2, 10, func(i int) {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if i%2 == 0 {
			s.cli.ContainerStop(c, ids[i], container.StopOptions{Timeout: &zero})
		} else {
			s.cli.ContainerRemove(c, ids[i], container.RemoveOptions{Force: true})
		}
	})
	downAt := down()
	b.ReportMetric(ms(upAt.Sub(startLast)), "last-start→exact-ms")
	b.ReportMetric(ms(httpAt.Sub(startLast)), "last-start→all-HTTP-ms")
	b.ReportMetric(ms(downAt.Sub(lastEvent())), "last-die→exact-ms")
}

// procStat reads a process's CPU ticks (utime+stime) and RSS bytes.
func procStat(b *testing.B, pid int) (ticks int64, rss int64) {
	b.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			rss = kb << 10
		}
	}
	return ut + stt, rss
}

// BenchmarkIdle: `agent -dev` with the registrar following five
// containers with HEALTHCHECKs, against `agent -dev -docker=false`, both
// idle for 10 s: resident memory and CPU ticks (1/100 s) used meanwhile.
func BenchmarkIdle(b *testing.B) {
	s := newScope(b)
	bin := testutil.Binary(b)
	for i := 0; i < 5; i++ {
		s.create(ctr{name: fmt.Sprintf("idle%d", i), health: true, publish: []string{"127.0.0.1::8080"}})
	}
	start := func(docker string) *testutil.Proc {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := testutil.StartProc(ctx, bin, []string{"agent", "-dev", "-log-level", "info", "-http-port", "0", "-dns-port", "0",
			"-server-port", "0", "-serf-lan-port", "0", "-docker=" + docker, "-docker-label", s.labelFilter()}, func(string) {}, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(p.Kill)
		return p
	}
	with, without := start("true"), start("false")
	until(b, "registered", func() bool {
		var self struct{ Registrar struct{ Services int } }
		resp, err := http.Get("http://" + with.HTTP + "/v1/agent/self")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return jsonDecode(resp, &self) == nil && self.Registrar.Services == 5
	})
	time.Sleep(2 * time.Second) // settle: start-up work done before the idle window (measurement, not a wait)
	t0w, _ := procStat(b, with.Pid())
	t0o, _ := procStat(b, without.Pid())
	time.Sleep(10 * time.Second) // the idle window being measured
	t1w, rssW := procStat(b, with.Pid())
	t1o, rssO := procStat(b, without.Pid())
	b.ReportMetric(float64(rssW)/(1<<20), "rss-with-MiB")
	b.ReportMetric(float64(rssO)/(1<<20), "rss-without-MiB")
	b.ReportMetric(float64(rssW-rssO)/(1<<20), "rss-added-MiB")
	b.ReportMetric(float64(t1w-t0w), "idle-ticks-with")
	b.ReportMetric(float64(t1o-t0o), "idle-ticks-without")
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func sameKeys[V any](got map[string]V, want map[string]bool) bool {
	if len(got) != len(want) {
		return false
	}
	for k := range got {
		if !want[k] {
			return false
		}
	}
	return true
}
