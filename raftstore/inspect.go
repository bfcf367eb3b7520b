package raftstore

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/minconsul/minconsul/structs"
)

// RecordStat is one row of `snapshot inspect`: how many records of a type
// a snapshot holds and their encoded size (Consul's Name, Sum, Count).
type RecordStat struct {
	Name  string
	Sum   int
	Count int
}

// recordNames are Consul's type names in `snapshot inspect`: nodes,
// services and checks are all Register records there.
var recordNames = map[recordType]string{
	recordIndex: "Index", recordKV: "KVS", recordTombstone: "Tombstone",
	recordNode: "Register", recordService: "Register", recordCheck: "Register",
	recordSession: "Session", recordCoordinate: "CoordinateBatchUpdate",
}

// InspectState counts the records of a snapshot's state (an archive's
// state.bin) by type, largest total size first, without restoring it.
func InspectState(state []byte) ([]RecordStat, error) {
	dec := structs.NewDecoder(bytes.NewReader(state))
	var hdr snapshotHeader
	if err := dec.Decode(&hdr); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	byName := map[string]*RecordStat{}
	for {
		start := dec.NumBytesRead()
		var rt recordType
		if err := dec.Decode(&rt); err != nil {
			return nil, errors.New("truncated snapshot")
		}
		if rt == recordEnd {
			break
		}
		// Any record decodes generically: a type this build does not
		// name is still counted.
		var obj any
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("record %d: %w", rt, err)
		}
		name, ok := recordNames[rt]
		if !ok {
			name = fmt.Sprintf("Unknown(%d)", rt)
		}
		st := byName[name]
		if st == nil {
			st = &RecordStat{Name: name}
			byName[name] = st
		}
		st.Count++
		st.Sum += dec.NumBytesRead() - start
	}
	out := make([]RecordStat, 0, len(byName))
	for _, st := range byName {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Sum != out[j].Sum {
			return out[i].Sum > out[j].Sum
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
