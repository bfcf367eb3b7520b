package checks

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minconsul/minconsul/structs"
	"github.com/minconsul/minconsul/testutil"
)

func httpProbe(url string) *HTTP {
	return &HTTP{URL: url, Every: time.Second, Timeout: 5 * time.Second}
}

func TestHTTP_MethodHeaderBodyAndStatuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/429":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprintf(w, "%s %s x-a=%s ua=%s host=%s body=%s", r.Method, r.URL.Path, r.Header.Get("X-A"),
			r.Header.Get("User-Agent"), r.Host, body)
	}))
	defer srv.Close()

	p := httpProbe(srv.URL + "/ok")
	p.Method, p.Body = "POST", `{"a":1}`
	p.Header = map[string][]string{"X-A": {"b"}, "Host": {"svc.example"}}
	got := probe(t, p)
	want := fmt.Sprintf(`HTTP POST %s/ok: 200 OK Output: POST /ok x-a=b ua=Consul Health Check host=svc.example body={"a":1}`, srv.URL)
	if got.status != structs.HealthPassing || got.output != want {
		t.Fatalf("got %+v\nwant output %q", got, want)
	}
	if got := probe(t, httpProbe(srv.URL+"/429")); got.status != structs.HealthWarning {
		t.Fatalf("429: %+v", got)
	}
	if got := probe(t, httpProbe(srv.URL+"/500")); got.status != structs.HealthCritical ||
		!strings.HasPrefix(got.output, "HTTP GET "+srv.URL+"/500: 500 Internal Server Error Output: GET") {
		t.Fatalf("500: %+v", got)
	}
}

func TestHTTP_DisableRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		fmt.Fprint(w, "new")
	}))
	defer srv.Close()
	if got := probe(t, httpProbe(srv.URL+"/old")); got.status != structs.HealthPassing || !strings.HasSuffix(got.output, "Output: new") {
		t.Fatalf("followed redirect: %+v", got)
	}
	p := httpProbe(srv.URL + "/old")
	p.DisableRedirects = true
	if got := probe(t, p); got.status != structs.HealthCritical || !strings.Contains(got.output, ": 302 Found Output:") {
		t.Fatalf("redirect not followed: %+v", got)
	}
}

func TestHTTP_TLSSkipVerifyAndServerName(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "sni=%s", r.TLS.ServerName)
	}))
	defer srv.Close()
	got := probe(t, httpProbe(srv.URL))
	if got.status != structs.HealthCritical || !strings.Contains(got.output, "certificate") {
		t.Fatalf("an unverifiable certificate passed: %+v", got)
	}
	p := httpProbe(srv.URL)
	p.TLS = TLS{SkipVerify: true, ServerName: "api.internal"}
	if got := probe(t, p); got.status != structs.HealthPassing || !strings.HasSuffix(got.output, "sni=api.internal") {
		t.Fatalf("skip verify with a server name: %+v", got)
	}
}

func TestHTTP_OutputIsTheLast4KiB(t *testing.T) {
	body := strings.Repeat("a", 6000) + strings.Repeat("z", 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	got := probe(t, httpProbe(srv.URL))
	_, out, _ := strings.Cut(got.output, "Output: ")
	if out != body[len(body)-MaxOutput:] {
		t.Fatalf("kept %d bytes ending %q", len(out), out[len(out)-10:])
	}
}

func TestHTTP_ErrorIsTheClientsError(t *testing.T) {
	addr := closedAddr(t)
	got := probe(t, httpProbe("http://"+addr+"/x"))
	want := fmt.Sprintf(`Get "http://%s/x": dial tcp %s: connect: connection refused`, addr, addr)
	if got.status != structs.HealthCritical || got.output != want {
		t.Fatalf("got %q\nwant %q", got.output, want)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := &TCP{Addr: ln.Addr().String(), Every: time.Second, Timeout: time.Second}
	if got := probe(t, p); got != (result{structs.HealthPassing, "TCP connect " + p.Addr + ": Success"}) {
		t.Fatalf("open port: %+v", got)
	}
	addr := closedAddr(t)
	got := probe(t, &TCP{Addr: addr, Every: time.Second, Timeout: time.Second})
	if want := "dial tcp " + addr + ": connect: connection refused"; got.output != want {
		t.Fatalf("closed port output %q, want %q (no doubled prefix)", got.output, want)
	}
}

func TestScript_ExitCodesOutputAndTimeout(t *testing.T) {
	dir := t.TempDir()
	sh := func(name, body string) []string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return []string{p}
	}
	run := func(args []string, timeout time.Duration) result {
		return probe(t, &Script{Args: args, Every: time.Second, Timeout: timeout})
	}
	if got := run(sh("ok", "echo fine"), 5*time.Second); got != (result{structs.HealthPassing, "fine\n"}) {
		t.Fatalf("exit 0: %+v", got)
	}
	if got := run(sh("warn", "echo meh; exit 1"), 5*time.Second); got != (result{structs.HealthWarning, "meh\n"}) {
		t.Fatalf("exit 1: %+v", got)
	}
	if got := run(sh("crit", "echo bad >&2; exit 2"), 5*time.Second); got != (result{structs.HealthCritical, "bad\n"}) {
		t.Fatalf("exit 2: %+v", got)
	}
	got := run(sh("long", "head -c 5000 /dev/zero | tr '\\0' a; printf END"), 5*time.Second)
	if !strings.HasPrefix(got.output, "Captured 4096 of 5003 bytes\n...\n") || !strings.HasSuffix(got.output, "aEND") {
		t.Fatalf("long output: %q...", got.output[:40])
	}
	got = run(sh("slow", "echo started; exec sleep 10"), 300*time.Millisecond)
	if got.status != structs.HealthCritical || got.output != "Timed out (300ms) running check\n\nstarted\n" {
		t.Fatalf("timeout: %+v", got)
	}
}

type fakeDocker struct {
	code int
	out  string
	err  error
	cmd  []string
}

func (f *fakeDocker) Exec(_ context.Context, id string, cmd []string, w io.Writer) (int, error) {
	f.cmd = append([]string{id}, cmd...)
	io.WriteString(w, f.out)
	return f.code, f.err
}

// The Docker probe's mapping of exit codes and errors; the engine itself
// is exercised with a real container in package registrar.
func TestDockerExec_Statuses(t *testing.T) {
	for _, tc := range []struct {
		d    fakeDocker
		want result
	}{
		{fakeDocker{code: 0, out: "ok"}, result{structs.HealthPassing, "ok"}},
		{fakeDocker{code: 1, out: "w"}, result{structs.HealthWarning, "w"}},
		{fakeDocker{code: 127, out: "nope"}, result{structs.HealthCritical, "nope"}},
		{fakeDocker{err: fmt.Errorf("No such container: c1")}, result{structs.HealthCritical, "No such container: c1"}},
	} {
		d := tc.d
		got := probe(t, &DockerExec{Client: &d, ContainerID: "c1", Args: []string{"/check", "-x"}, Every: time.Second, Timeout: time.Second})
		if got != tc.want || fmt.Sprint(d.cmd) != "[c1 /check -x]" {
			t.Fatalf("got %+v (cmd %v), want %+v", got, d.cmd, tc.want)
		}
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTCP_UseTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	p := &TCP{Addr: addr, UseTLS: true, Every: time.Second, Timeout: 2 * time.Second}
	if got := probe(t, p); got.status != structs.HealthCritical || !strings.Contains(got.output, "certificate") {
		t.Fatalf("unverifiable certificate: %+v", got)
	}
	p.TLS.SkipVerify = true
	if got := probe(t, p); got != (result{structs.HealthPassing, "TCP+TLS connect " + addr + ": Success"}) {
		t.Fatalf("TLS handshake: %+v", got)
	}
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	p.Addr = strings.TrimPrefix(plain.URL, "http://")
	if got := probe(t, p); got.status != structs.HealthCritical {
		t.Fatalf("TLS to a plaintext server: %+v", got)
	}
}

func TestUDP(t *testing.T) {
	for _, echo := range []bool{true, false} {
		var reply []byte
		if echo {
			reply = []byte("pong")
		}
		addr := testutil.UDPServer(t, reply).LocalAddr().String()
		got := probe(t, &UDP{Addr: addr, Every: time.Second, Timeout: 300 * time.Millisecond})
		if got != (result{structs.HealthPassing, "UDP connect " + addr + ": Success"}) {
			t.Fatalf("echo=%v: %+v", echo, got)
		}
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	if got := probe(t, &UDP{Addr: closed, Every: time.Second, Timeout: time.Second}); got.status != structs.HealthCritical ||
		!strings.Contains(got.output, "connection refused") {
		t.Fatalf("closed port: %+v", got)
	}
}
