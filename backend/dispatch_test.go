package backend

import (
	"context"
	"net"
	"reflect"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/minconsul/minconsul/internal/rpc"
	"github.com/minconsul/minconsul/structs"
)

// recorder is a server that remembers what it was called and answers
// zero values.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) ServeRPC(_ context.Context, method string, _ int, _ []byte) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, method)
	if method == applyMethod {
		return &applyResponse{}, nil
	}
	return nil, nil
}

// Every call of the contract travels under its own method name (which the
// server side looks up by reflection), so a read's binding cannot name
// another read.
func TestDispatch_EveryCallTravelsUnderItsName(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := rpc.NewMux(ln, hclog.NewNullLogger())
	go mux.Serve()
	t.Cleanup(func() { _ = mux.Close() })
	rec := &recorder{}
	srv := rpc.NewServer(rec, hclog.NewNullLogger())
	go func() { _ = srv.Serve(mux.RPCListener()) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	client := rpc.NewClient()
	t.Cleanup(client.Close)
	b := New(Config{Client: client, Servers: func() []string { return []string{ln.Addr().String()} }})
	t.Cleanup(b.Close)
	if len(b.methods) == 0 {
		t.Fatal("no contract methods found")
	}
	for name, m := range b.methods {
		req := reflect.New(m.Type.In(2).Elem())
		out := m.Func.Call([]reflect.Value{reflect.ValueOf(b), reflect.ValueOf(context.Background()), req})
		if err, _ := out[1].Interface().(error); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		rec.mu.Lock()
		got := rec.calls[len(rec.calls)-1]
		rec.mu.Unlock()
		if got != name {
			t.Errorf("%s travelled as %q", name, got)
		}
	}
	if _, _, err := b.Apply(context.Background(), structs.Command{Type: structs.KVSet, KV: &structs.DirEntry{Key: "k"}}); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.calls[len(rec.calls)-1]; got != applyMethod {
		t.Errorf("Apply travelled as %q", got)
	}
}

// A call naming no contract method, or with an undecodable request, is a
// bad request answered as a value.
func TestDispatch_UnknownAndMalformed(t *testing.T) {
	b := New(Config{})
	t.Cleanup(b.Close)
	if _, err := b.ServeRPC(context.Background(), "Nope", 1, nil); err == nil || err.Error() != `unknown call "Nope"` {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := b.ServeRPC(context.Background(), "KVGet", 1, []byte{0xc1}); err == nil {
		t.Fatal("malformed request accepted")
	}
}
