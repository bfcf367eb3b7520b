package backend

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/minconsul/minconsul/internal/rpc"
	"github.com/minconsul/minconsul/structs"
)

// Calls from other servers. A read or operator call arrives under its
// contract method's name with its typed request, and runs through the
// same method here — which routes it again, knowing how far it came. The
// table is the contract's method set, found by reflection when the backend
// is built, so a new read needs no dispatch code.

// applyMethod is the name Apply travels under: it takes a Command and
// answers an applyResponse, not the shape of the other calls.
const applyMethod = "Apply"

// remote is the part of the contract another server may call by name.
type remote interface {
	Reader
	Operator
	SessionRenewer
}

// contractMethods maps each call of remote to Backend's method.
func contractMethods() map[string]reflect.Method {
	it, bt := reflect.TypeFor[remote](), reflect.TypeFor[*Backend]()
	out := make(map[string]reflect.Method, it.NumMethod())
	for i := range it.NumMethod() {
		name := it.Method(i).Name
		m, ok := bt.MethodByName(name)
		if !ok {
			panic("backend: Backend lacks contract method " + name) // a compile-time fact
		}
		out[name] = m
	}
	return out
}

var _ rpc.Handler = (*Backend)(nil)
var _ Contract = (*Backend)(nil)

// ServeRPC runs a call another server (or a client agent) sent here.
func (b *Backend) ServeRPC(ctx context.Context, method string, hop int, args []byte) (any, error) {
	ctx = withHops(ctx, hop)
	defer b.served(method, time.Now())
	if method == applyMethod {
		var cmd structs.Command
		if err := structs.Decode(args, &cmd); err != nil {
			return nil, structs.BadRequest("decode command: " + err.Error())
		}
		idx, res, err := b.Apply(ctx, cmd)
		return newApplyResponse(idx, res, err), nil
	}
	m, ok := b.methods[method]
	if !ok {
		return nil, structs.BadRequest(fmt.Sprintf("unknown call %q", method))
	}
	req := reflect.New(m.Type.In(2).Elem())
	if err := structs.Decode(args, req.Interface()); err != nil {
		return nil, structs.BadRequest(fmt.Sprintf("decode %s request: %v", method, err))
	}
	out := m.Func.Call([]reflect.Value{reflect.ValueOf(b), reflect.ValueOf(ctx), req})
	if err, _ := out[1].Interface().(error); err != nil {
		return nil, err
	}
	return out[0].Interface(), nil
}

// applyResponse is Apply's answer on the wire. A command's result is nil
// or a bool (KV writes); a KVBatch has one outcome per element instead.
type applyResponse struct {
	applyElem
	Results []applyElem `codec:",omitempty"`
}

// applyElem is one command's index, result or error. A result is a bool
// (KV writes) or a transaction's answer.
type applyElem struct {
	Index   uint64
	Result  *bool
	ErrKind string
	ErrMsg  string
	Txn     *structs.TxnResponse `codec:",omitempty"`
}

func newApplyElem(idx uint64, res any, err error) applyElem {
	e := applyElem{Index: idx}
	if v, ok := res.(bool); ok {
		e.Result = &v
	}
	if v, ok := res.(*structs.TxnResponse); ok {
		e.Txn = v
	}
	e.ErrKind, e.ErrMsg = rpc.EncodeError(err)
	return e
}

func (e applyElem) outcome() (uint64, any, error) {
	if err := rpc.DecodeError(e.ErrKind, e.ErrMsg); err != nil {
		return e.Index, nil, err
	}
	if e.Result != nil {
		return e.Index, *e.Result, nil
	}
	if e.Txn != nil {
		return e.Index, e.Txn, nil
	}
	return e.Index, nil, nil
}

func newApplyResponse(idx uint64, res any, err error) *applyResponse {
	out := &applyResponse{applyElem: newApplyElem(idx, res, err)}
	if outs, ok := res.([]structs.BatchOutcome); ok {
		out.Results = make([]applyElem, len(outs))
		for i, o := range outs {
			out.Results[i] = newApplyElem(o.Index, o.Value, o.Err)
		}
	}
	return out
}

// result is the inverse of newApplyResponse for the command cmd.
func (r *applyResponse) result(cmd structs.Command) (uint64, any, error) {
	idx, res, err := r.outcome()
	if err != nil || cmd.Type != structs.KVBatch {
		return idx, res, err
	}
	if len(r.Results) != len(cmd.Batch) {
		return idx, nil, fmt.Errorf("rpc error: %d results for a batch of %d", len(r.Results), len(cmd.Batch))
	}
	outs := make([]structs.BatchOutcome, len(r.Results))
	for i, e := range r.Results {
		o := &outs[i]
		o.Index, o.Value, o.Err = e.outcome()
	}
	return idx, outs, nil
}
