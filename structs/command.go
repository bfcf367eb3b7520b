package structs

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// CommandType names what a Raft log entry does. Values are persisted in
// logs and snapshots: append new ones, never renumber.
type CommandType uint8

const (
	KVSet CommandType = iota + 1
	KVCAS
	KVDelete
	KVDeleteCAS
	KVDeleteTree
	CatalogRegister
	CatalogDeregister
	// Reserved for later capabilities; the FSM rejects them for now.
	TxnApply
	SessionCreate
	SessionDestroy
)

func (t CommandType) String() string {
	switch t {
	case KVSet:
		return "KVSet"
	case KVCAS:
		return "KVCAS"
	case KVDelete:
		return "KVDelete"
	case KVDeleteCAS:
		return "KVDeleteCAS"
	case KVDeleteTree:
		return "KVDeleteTree"
	case CatalogRegister:
		return "CatalogRegister"
	case CatalogDeregister:
		return "CatalogDeregister"
	case TxnApply:
		return "TxnApply"
	case SessionCreate:
		return "SessionCreate"
	case SessionDestroy:
		return "SessionDestroy"
	}
	return fmt.Sprintf("CommandType(%d)", uint8(t))
}

// Command is one write. Exactly the field matching Type is set:
//   - KVSet: KV (Key, Flags, Value)
//   - KVCAS: KV; KV.ModifyIndex is the expected index (0 = only if absent)
//   - KVDelete: KV.Key
//   - KVDeleteCAS: KV.Key, KV.ModifyIndex
//   - KVDeleteTree: KV.Key is the prefix
//   - CatalogRegister: Register
//   - CatalogDeregister: Deregister
//
// Apply results: KV commands give a bool (false when a CAS check failed);
// catalog commands give nil.
type Command struct {
	Type       CommandType
	KV         *DirEntry          `codec:",omitempty"`
	Register   *RegisterRequest   `codec:",omitempty"`
	Deregister *DeregisterRequest `codec:",omitempty"`
}

// handle is read-only after construction and safe for concurrent use; it
// is shared because a codec handle caches per-type encoders, and building
// them again for every Raft entry cost more than the encoding itself.
var handle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	return h
}()

func msgpackHandle() *codec.MsgpackHandle { return handle }

// Encode serialises a value (a Command, or a snapshot record) with msgpack.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, msgpackHandle()).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode is the inverse of Encode.
func Decode(b []byte, v any) error {
	return codec.NewDecoderBytes(b, msgpackHandle()).Decode(v)
}

// NewEncoder and NewDecoder stream msgpack values (used by snapshots).
func NewEncoder(w interface{ Write([]byte) (int, error) }) *codec.Encoder {
	return codec.NewEncoder(w, msgpackHandle())
}

// NewDecoder: see NewEncoder.
func NewDecoder(r interface{ Read([]byte) (int, error) }) *codec.Decoder {
	return codec.NewDecoder(r, msgpackHandle())
}
