package structs

// MaxKVValueSize is Consul's default kv_max_value_size (512 KiB).
const MaxKVValueSize = 512 * 1024

// DirEntry is one KV pair as Consul serves it on /v1/kv.
type DirEntry struct {
	LockIndex   uint64
	Key         string
	Flags       uint64
	Value       []byte
	Session     string `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// DirEntries is a list of KV pairs in key order.
type DirEntries []*DirEntry

// Clone returns a deep copy, safe to hand out of the state store.
func (d *DirEntry) Clone() *DirEntry {
	if d == nil {
		return nil
	}
	c := *d
	if d.Value != nil {
		c.Value = append([]byte(nil), d.Value...)
	}
	return &c
}
