// Command hello-world is the tutorial's web container: a static HTTP
// server small enough for a FROM-scratch image, so the tutorial (and the
// registrar's tests) need no registry. It answers "/" with a greeting,
// "/health" with 200 or 503, and PUT /health/fail and /health/ok switch
// that answer. Run with -probe it is its own Docker HEALTHCHECK:
//
//	HEALTHCHECK CMD ["/hello-world", "-probe"]
//
// A scratch image has no shell, so the exec form running this binary is
// the only HEALTHCHECK it can have.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ports := flag.String("port", envOr("PORT", "8080"), "comma-separated TCP ports to serve on (env PORT)")
	probe := flag.Bool("probe", false, "probe http://127.0.0.1:<first port>/health once and exit 0 (healthy) or 1")
	unhealthy := flag.Bool("unhealthy", false, "start with /health failing")
	exitAfter := flag.Duration("exit-after", 0, "exit with -exit-code after this long (0: run until a signal)")
	exitCode := flag.Int("exit-code", 0, "exit code for -exit-after")
	flag.Parse()
	list := strings.Split(*ports, ",")
	if *probe {
		os.Exit(probeOnce(list[0]))
	}
	var sick atomic.Bool
	sick.Store(*unhealthy)
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, world! I am %s\n", host)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if sick.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/health/fail", func(w http.ResponseWriter, r *http.Request) { sick.Store(true) })
	mux.HandleFunc("/health/ok", func(w http.ResponseWriter, r *http.Request) { sick.Store(false) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	for _, p := range list {
		ln, err := net.Listen("tcp", ":"+strings.TrimSpace(p))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go srv.Serve(ln)
	}
	// As PID 1 in a container, a signal without a handler is ignored:
	// docker stop would wait its full timeout.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	var exit <-chan time.Time
	if *exitAfter > 0 {
		exit = time.After(*exitAfter)
	}
	select {
	case <-sigs:
	case <-exit:
		os.Exit(*exitCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

func probeOnce(port string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strings.TrimSpace(port) + "/health")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Print(string(b))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
