package structs

// Transactions (PUT /v1/txn): up to MaxTxnOps operations applied all or
// nothing in one Raft entry, or, when none writes, read in one state-store
// read transaction.

// MaxTxnOps is Consul's limit on operations in one transaction.
const MaxTxnOps = 64

// TxnKVOp is one KV operation; DirEnt.ModifyIndex carries the API's Index.
type TxnKVOp struct {
	Verb   string
	DirEnt DirEntry
}

// TxnNodeOp is one catalog node operation.
type TxnNodeOp struct {
	Verb string
	Node Node
}

// TxnServiceOp is one catalog service operation on Node.
type TxnServiceOp struct {
	Verb    string
	Node    string
	Service NodeService
}

// TxnCheckOp is one catalog check operation.
type TxnCheckOp struct {
	Verb  string
	Check HealthCheck
}

// TxnOp is one operation: exactly one field is set.
type TxnOp struct {
	KV      *TxnKVOp      `codec:",omitempty"`
	Node    *TxnNodeOp    `codec:",omitempty"`
	Service *TxnServiceOp `codec:",omitempty"`
	Check   *TxnCheckOp   `codec:",omitempty"`
}

// TxnOps is a transaction's operations in order.
type TxnOps []*TxnOp

// IsWrite reports whether the operation changes state.
func (op *TxnOp) IsWrite() bool {
	switch {
	case op.KV != nil:
		switch op.KV.Verb {
		case "get", "get-tree", "check-index", "check-session", "check-not-exists":
			return false
		}
	case op.Node != nil:
		return op.Node.Verb != "get"
	case op.Service != nil:
		return op.Service.Verb != "get"
	case op.Check != nil:
		return op.Check.Verb != "get"
	}
	return true
}

// TxnResult is one result; KV results of writes carry no Value.
type TxnResult struct {
	KV      *DirEntry    `json:",omitempty" codec:",omitempty"`
	Node    *Node        `json:",omitempty" codec:",omitempty"`
	Service *NodeService `json:",omitempty" codec:",omitempty"`
	Check   *HealthCheck `json:",omitempty" codec:",omitempty"`
}

// TxnResults are the results in operation order.
type TxnResults []*TxnResult

// TxnError names a failed operation by its index in the request.
type TxnError struct {
	OpIndex int
	What    string
}

// TxnErrors lists every failed operation.
type TxnErrors []*TxnError

// TxnResponse is /v1/txn's answer: Results when everything applied, Errors
// (and nothing applied) otherwise.
type TxnResponse struct {
	Results TxnResults
	Errors  TxnErrors
}

// TxnReadRequest is a transaction without writes, served as a read.
type TxnReadRequest struct {
	Ops TxnOps
	QueryOptions
}
