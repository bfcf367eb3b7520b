package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/minconsul/minconsul/structs"
)

// PUT /v1/txn: Consul's transaction API. The body is checked whole before
// anything is proposed (size, op count, value sizes); a transaction with
// no writes is served as a read (?stale/?consistent apply), anything else
// is one TxnApply Raft entry that applies entirely or not at all. 200
// answers Results; 409 answers Errors naming each failed op by index.

// txnOpIn is one operation in the API's shape.
type txnOpIn struct {
	KV *struct {
		Verb    string
		Key     string
		Value   []byte
		Flags   uint64
		Index   uint64
		Session string
	}
	Node *struct {
		Verb string
		Node structs.Node
	}
	Service *struct {
		Verb    string
		Node    string
		Service structs.NodeService
	}
	Check *struct {
		Verb  string
		Check structs.HealthCheck
	}
}

// defaultTxnMaxReqLen is Consul's txn_max_req_len default.
const defaultTxnMaxReqLen = 512 * 1024

func (s *Server) txnMaxLen() int64 {
	n := s.cfg.TxnMaxReqLen
	if n <= 0 {
		n = defaultTxnMaxReqLen
	}
	// As Consul: the KV value limit also bounds a transaction from below.
	return max(n, structs.MaxKVValueSize)
}

// decodeTxn parses and checks a transaction body, converting it to ops and
// counting the writes.
func (s *Server) decodeTxn(q *request) (structs.TxnOps, int, error) {
	maxLen := s.txnMaxLen()
	tooBig := &httpError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("Request body too large, max size: %d bytes", maxLen)}
	if q.r.ContentLength > maxLen {
		return nil, 0, tooBig
	}
	var in []txnOpIn
	body := http.MaxBytesReader(q.w, q.r.Body, maxLen)
	if err := json.NewDecoder(body).Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, 0, tooBig
		}
		return nil, 0, badRequest("Failed to parse body: " + err.Error())
	}
	if len(in) > structs.MaxTxnOps {
		return nil, 0, &httpError{code: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("Transaction contains too many operations (%d > %d)", len(in), structs.MaxTxnOps)}
	}
	ops := make(structs.TxnOps, 0, len(in))
	writes := 0
	for _, o := range in {
		op := &structs.TxnOp{}
		switch {
		case o.KV != nil:
			if len(o.KV.Value) > structs.MaxKVValueSize {
				return nil, 0, &httpError{code: http.StatusRequestEntityTooLarge,
					msg: fmt.Sprintf("Value for key %q is too large (%d > %d bytes)", o.KV.Key, len(o.KV.Value), structs.MaxKVValueSize)}
			}
			op.KV = &structs.TxnKVOp{Verb: o.KV.Verb, DirEnt: structs.DirEntry{Key: o.KV.Key, Value: o.KV.Value,
				Flags: o.KV.Flags, Session: o.KV.Session, ModifyIndex: o.KV.Index}}
		case o.Node != nil:
			if o.Node.Node.Datacenter == "" {
				o.Node.Node.Datacenter = s.cfg.Datacenter
			}
			op.Node = &structs.TxnNodeOp{Verb: o.Node.Verb, Node: o.Node.Node}
		case o.Service != nil:
			op.Service = &structs.TxnServiceOp{Verb: o.Service.Verb, Node: o.Service.Node, Service: o.Service.Service}
		case o.Check != nil:
			op.Check = &structs.TxnCheckOp{Verb: o.Check.Verb, Check: o.Check.Check}
		}
		if op.IsWrite() {
			writes++
		}
		ops = append(ops, op)
	}
	return ops, writes, nil
}

func (s *Server) txn(q *request) error {
	ops, writes, err := s.decodeTxn(q)
	if err != nil {
		return err
	}
	var res *structs.TxnResponse
	if writes == 0 {
		if res, _, err = read(s, q, &structs.TxnReadRequest{Ops: ops}, s.backend.TxnRead); err != nil {
			return err
		}
	} else {
		idx, v, err := s.backend.Apply(q.r.Context(), structs.Command{Type: structs.TxnApply, Txn: ops})
		if err != nil {
			return err
		}
		setIndex(q.w.Header(), idx)
		res, _ = v.(*structs.TxnResponse)
	}
	if res == nil {
		return errors.New("transaction answered no result")
	}
	if len(res.Errors) > 0 {
		q.w.Header()[hdrContentType] = jsonContentType
		q.w.WriteHeader(http.StatusConflict)
	}
	return writeJSON(q, res)
}
