package structs

import (
	"fmt"
	"sync"

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
	// KVBatch carries several KV commands in one log entry (Batch, each
	// an encoded Command); they apply in order at the entry's index.
	KVBatch
)

// Session lock commands (values 12-19 are this area's). KVLock sets the
// entry and takes its lock for KV.Session; KVUnlock sets it and releases
// the lock. Both answer false when the lock is held by another session
// (or, for KVUnlock, not held by this one).
const (
	KVLock   CommandType = 12
	KVUnlock CommandType = 13
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
	case KVBatch:
		return "KVBatch"
	case KVLock:
		return "KVLock"
	case KVUnlock:
		return "KVUnlock"
	case CoordinateBatchUpdate:
		return "CoordinateBatchUpdate"
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
//   - KVBatch: Batch, each element an encoded KV Command
//   - KVLock, KVUnlock: KV (Key, Flags, Value, Session)
//   - SessionCreate: Session (ID chosen by the writer); SessionDestroy: Session.ID
//   - TxnApply: Txn; its result is a *TxnResponse
//
// Apply results: KV commands give a bool (false when a CAS check failed);
// catalog commands give nil; KVBatch gives one result per element.
type Command struct {
	Type       CommandType
	KV         *DirEntry          `codec:",omitempty"`
	Register   *RegisterRequest   `codec:",omitempty"`
	Deregister *DeregisterRequest `codec:",omitempty"`
	Batch      [][]byte           `codec:",omitempty"`
	Session    *Session           `codec:",omitempty"`
	Txn        TxnOps             `codec:",omitempty"`
	// Coordinates: CoordinateBatchUpdate (structs/coordinate.go).
	Coordinates Coordinates `codec:",omitempty"`
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

// Encoders and decoders are pooled: building one (driver, state) cost as
// much as encoding a small KV command, and every write and every applied
// Raft entry needs one. Each is used by one goroutine between Get and Put.
var (
	encoders = sync.Pool{New: func() any {
		p := &pooledEncoder{park: []byte{}}
		p.enc = codec.NewEncoderBytes(&p.park, handle)
		return p
	}}
	decoders = sync.Pool{New: func() any { return codec.NewDecoderBytes([]byte{}, handle) }}
)

// pooledEncoder keeps the output slice in its own fields so that pointing
// the encoder at it allocates nothing; park (empty, never nil: the codec
// allocates for a nil one) is where the encoder points while idle.
type pooledEncoder struct {
	enc  *codec.Encoder
	out  []byte
	park []byte
}

// Encode serialises a value (a Command, or a snapshot record) with msgpack.
// The returned slice is newly allocated (Raft keeps it).
func Encode(v any) ([]byte, error) {
	p := encoders.Get().(*pooledEncoder)
	p.out = make([]byte, 0, encodedSizeHint(v))
	p.enc.ResetBytes(&p.out)
	err := p.enc.Encode(v)
	out := p.out
	p.out = nil
	p.enc.ResetBytes(&p.park)
	encoders.Put(p)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// encodedSizeHint sizes Encode's output so that a KV write is one
// allocation; anything else grows as needed.
func encodedSizeHint(v any) int {
	if c, ok := v.(*Command); ok && c.KV != nil {
		return 64 + len(c.KV.Key) + len(c.KV.Value) + len(c.KV.Session)
	}
	return 256
}

// Decode is the inverse of Encode.
func Decode(b []byte, v any) error {
	if b == nil {
		b = []byte{} // ResetBytes ignores nil: keep the "no input" error
	}
	d := decoders.Get().(*codec.Decoder)
	d.ResetBytes(b)
	err := d.Decode(v)
	d.ResetBytes([]byte{}) // drop the reference to b
	decoders.Put(d)
	return err
}

// NewEncoder and NewDecoder stream msgpack values (used by snapshots).
func NewEncoder(w interface{ Write([]byte) (int, error) }) *codec.Encoder {
	return codec.NewEncoder(w, msgpackHandle())
}

// NewDecoder: see NewEncoder.
func NewDecoder(r interface{ Read([]byte) (int, error) }) *codec.Decoder {
	return codec.NewDecoder(r, msgpackHandle())
}

// BatchOutcome is the result of one element of a KVBatch command sent to
// the leader (followers forward concurrent KV writes that way): the index
// it was written at, its result (a bool) or its error.
type BatchOutcome struct {
	Index uint64
	Value any
	Err   error
}

// IsKV reports whether t is a single KV write (the commands KVBatch carries).
func (t CommandType) IsKV() bool {
	switch t {
	case KVSet, KVCAS, KVDelete, KVDeleteCAS, KVDeleteTree:
		return true
	}
	return false
}
