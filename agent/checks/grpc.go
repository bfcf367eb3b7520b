package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/minconsul/minconsul/structs"
)

// GRPC asks a server's standard health service (grpc.health.v1) about
// Target, "host:port" (the whole server) or "host:port/service": SERVING
// is passing, anything else or no answer critical.
type GRPC struct {
	Target         string
	UseTLS         bool
	TLS            TLS
	Every, Timeout time.Duration
}

func (g *GRPC) Interval() time.Duration { return g.Every }

func (g *GRPC) Probe(ctx context.Context) (string, string) {
	addr, service, _ := strings.Cut(g.Target, "/")
	creds := insecure.NewCredentials()
	if g.UseTLS {
		creds = credentials.NewTLS(g.TLS.config())
	}
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	// passthrough: the address is dialled as given, as Consul does.
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(false))
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return structs.HealthCritical, fmt.Sprintf("gRPC %s serving status: %s", g.Target, resp.GetStatus())
	}
	return structs.HealthPassing, fmt.Sprintf("gRPC check %s: success", g.Target)
}

// H2PING opens an HTTP/2 connection to Addr (h2c, or TLS with UseTLS) and
// sends a PING frame: an answer is passing.
type H2PING struct {
	Addr           string
	UseTLS         bool
	TLS            TLS
	Every, Timeout time.Duration
}

func (h *H2PING) Interval() time.Duration { return h.Every }

func (h *H2PING) Probe(ctx context.Context) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	var conn net.Conn
	var err error
	t := &http2.Transport{}
	if h.UseTLS {
		t.TLSClientConfig = h.TLS.config("h2")
		conn, err = (&tls.Dialer{Config: t.TLSClientConfig}).DialContext(ctx, "tcp", h.Addr)
	} else {
		t.AllowHTTP = true
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", h.Addr)
	}
	if err != nil {
		return structs.HealthCritical, fmt.Sprintf("Failed to dial to %s: %s", h.Addr, err)
	}
	defer conn.Close()
	cc, err := t.NewClientConn(conn)
	if err != nil {
		return structs.HealthCritical, fmt.Sprintf("Failed to create client connection %s", err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), h.Timeout/2)
		defer scancel()
		_ = cc.Shutdown(sctx)
	}()
	if err := cc.Ping(ctx); err != nil {
		return structs.HealthCritical, fmt.Sprintf("HTTP2 ping failed: %s", err)
	}
	return structs.HealthPassing, "HTTP2 ping was successful"
}
