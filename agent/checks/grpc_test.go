package checks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/minconsul/minconsul/structs"
)

// grpcHealthServer serves the standard health service on loopback, with
// TLS when cert is given.
func grpcHealthServer(t *testing.T, cert *tls.Certificate) (string, *health.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), hs
}

func TestGRPC_ServingStatus(t *testing.T) {
	addr, hs := grpcHealthServer(t, nil)
	hs.SetServingStatus("api", healthpb.HealthCheckResponse_SERVING)
	check := func(target string) result {
		return probe(t, &GRPC{Target: target, Every: time.Second, Timeout: 5 * time.Second})
	}
	if got := check(addr); got != (result{structs.HealthPassing, "gRPC check " + addr + ": success"}) {
		t.Fatalf("whole server: %+v", got)
	}
	if got := check(addr + "/api"); got.status != structs.HealthPassing {
		t.Fatalf("serving service: %+v", got)
	}
	hs.SetServingStatus("api", healthpb.HealthCheckResponse_NOT_SERVING)
	if got := check(addr + "/api"); got != (result{structs.HealthCritical, "gRPC " + addr + "/api serving status: NOT_SERVING"}) {
		t.Fatalf("not serving: %+v", got)
	}
	if got := check(addr + "/unknown"); got.status != structs.HealthCritical || !strings.Contains(got.output, "NotFound") {
		t.Fatalf("unknown service: %+v", got)
	}
	if got := check(closedAddr(t)); got.status != structs.HealthCritical || !strings.Contains(got.output, "Unavailable") {
		t.Fatalf("nothing listening: %+v", got)
	}
}

func TestGRPC_TLS(t *testing.T) {
	cert := selfSigned(t, "grpc.internal")
	addr, _ := grpcHealthServer(t, &cert)
	p := &GRPC{Target: addr, UseTLS: true, Every: time.Second, Timeout: 5 * time.Second}
	if got := probe(t, p); got.status != structs.HealthCritical {
		t.Fatalf("an unverifiable certificate passed: %+v", got)
	}
	p.TLS = TLS{SkipVerify: true}
	if got := probe(t, p); got.status != structs.HealthPassing {
		t.Fatalf("TLSSkipVerify: %+v", got)
	}
	plain := &GRPC{Target: addr, Every: time.Second, Timeout: 2 * time.Second}
	if got := probe(t, plain); got.status != structs.HealthCritical {
		t.Fatalf("plaintext to a TLS server passed: %+v", got)
	}
}

func TestH2PING_CleartextAndTLS(t *testing.T) {
	// h2c with prior knowledge, as Consul's H2PING without TLS speaks.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h2c := &http.Server{Handler: http.NotFoundHandler(), Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = h2c.Serve(ln) }()
	defer h2c.Close()
	p := &H2PING{Addr: ln.Addr().String(), Every: time.Second, Timeout: 5 * time.Second}
	if got := probe(t, p); got != (result{structs.HealthPassing, "HTTP2 ping was successful"}) {
		t.Fatalf("h2c: %+v", got)
	}

	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	addr := strings.TrimPrefix(tlsSrv.URL, "https://")
	p = &H2PING{Addr: addr, UseTLS: true, TLS: TLS{SkipVerify: true}, Every: time.Second, Timeout: 5 * time.Second}
	if got := probe(t, p); got.status != structs.HealthPassing {
		t.Fatalf("h2 over TLS: %+v", got)
	}
	p.TLS.SkipVerify = false
	if got := probe(t, p); got.status != structs.HealthCritical || !strings.HasPrefix(got.output, "Failed to dial to "+addr) {
		t.Fatalf("unverifiable certificate: %+v", got)
	}
	// An HTTP/1-only server does not answer a PING.
	h1 := httptest.NewServer(http.NotFoundHandler())
	defer h1.Close()
	p = &H2PING{Addr: strings.TrimPrefix(h1.URL, "http://"), Every: time.Second, Timeout: 2 * time.Second}
	if got := probe(t, p); got.status != structs.HealthCritical || !strings.HasPrefix(got.output, "HTTP2 ping failed: ") {
		t.Fatalf("HTTP/1 server: %+v", got)
	}
	if got := probe(t, &H2PING{Addr: closedAddr(t), Every: time.Second, Timeout: time.Second}); got.status != structs.HealthCritical ||
		!strings.HasPrefix(got.output, "Failed to dial to ") {
		t.Fatalf("nothing listening: %+v", got)
	}
}

// selfSigned makes a certificate for name (and 127.0.0.1) signed by itself.
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
