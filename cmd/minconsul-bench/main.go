// Command minconsul-bench measures minconsul against bare baselines in the
// same run, and prints one table: KV GET over HTTP against a net/http
// server replaying the agent's exact answer, KV PUT group commit on disk,
// DNS SRV against a miekg/dns server replaying the agent's exact reply,
// the wake-up of parked blocking queries, the real binary's idle RSS and
// time to a leader, and a 3-server cluster against a 3-member etcd. In
// process it runs the agent exactly as the binary wires it
// (cmd/minconsul/wire); as processes, the built binary. Every port is
// bound on :0 and read back (etcd's are picked that way too, see
// etcd.go). The Go benchmarks in bench_test.go call the same functions.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	RunChildIfRequested()
	var (
		o    Options
		only string
	)
	flag.DurationVar(&o.Duration, "duration", 2*time.Second, "measured load per side")
	flag.IntVar(&o.Concurrency, "concurrency", 16, "client goroutines for the GET and DNS measurements")
	flag.IntVar(&o.Watchers, "watchers", 10000, "parked blocking queries (d)")
	flag.StringVar(&o.Binary, "binary", "", "minconsul binary for (e); built from the repo when empty")
	flag.StringVar(&o.ProfileDir, "profile-dir", "", "write a CPU profile of each in-process agent's measured window here")
	flag.StringVar(&only, "only", "", "comma-separated subset of a,b,c,d,e,f,g,h (a=kv get, b=kv put disk, c=dns srv, d=blocking wake, e=idle rss + startup,\n"+
		"f=3-node put/get vs 3-node etcd and 1 node, g=leader kill to write, h=node kill to DNS removal)")
	flag.IntVar(&o.Runs, "runs", 5, "process starts for the startup median (e), leader kills (g)")
	flag.Parse()

	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	run := func(k string) bool { return len(want) == 0 || want[k] }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	fmt.Printf("minconsul-bench: %s/%s, %d CPUs, GOMAXPROCS=%d, duration %s, concurrency %d, load average %s\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), o.Duration, o.Concurrency, loadAvg())
	var (
		results []Result
		failed  bool
	)
	step := func(key, what string, f func() ([]Result, error)) {
		if !run(key) || ctx.Err() != nil {
			return
		}
		fmt.Fprintf(os.Stderr, "(%s) %s ...\n", key, what)
		rs, err := f()
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "(%s) %s: %v\n", key, what, err)
			results = append(results, Result{Name: what, Target: "-", Note: "ERROR: " + err.Error()})
			return
		}
		results = append(results, rs...)
	}
	step("a", "kv get http", func() ([]Result, error) {
		r, err := KVGet(ctx, o)
		return []Result{r}, err
	})
	step("b", "kv put disk", func() ([]Result, error) {
		rs, _, err := KVPutDisk(ctx, o)
		return rs, err
	})
	step("c", "dns srv udp", func() ([]Result, error) {
		r, err := DNSSRV(ctx, o)
		return []Result{r}, err
	})
	step("d", "blocking wake", func() ([]Result, error) {
		rs, _, err := BlockingWake(ctx, o)
		return rs, err
	})
	step("e", "idle rss + startup", func() ([]Result, error) {
		return IdleRSS(ctx, o)
	})

	step("f", "3-node throughput vs etcd", func() ([]Result, error) {
		return ClusterThroughput(ctx, o)
	})
	step("g", "leader failover", func() ([]Result, error) {
		return Failover(ctx, o)
	})
	step("h", "dns removal of a dead node", func() ([]Result, error) {
		return DNSRemoval(ctx, o)
	})

	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFIGURE\tBASELINE\tRATIO\tTARGET\tRESULT\tNOTE")
	for _, r := range results {
		fig, base, rat := "-", "-", "-"
		if r.Unit != "" {
			fig = fmt.Sprintf("%.4g %s", r.Figure, r.Unit)
		}
		if r.Baseline != 0 {
			base = fmt.Sprintf("%.4g %s", r.Baseline, r.Unit)
			rat = fmt.Sprintf("%.3f", r.Ratio)
		}
		verdict := "MISS"
		switch {
		case r.Target == "-" && r.Unit != "":
			verdict = "-"
		case r.Pass:
			verdict = "PASS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, fig, base, rat, r.Target, verdict, r.Note)
	}
	tw.Flush()
	if failed {
		os.Exit(1)
	}
}

// loadAvg is the 1-minute load average: figures taken while other work
// runs on the machine are not comparable.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
