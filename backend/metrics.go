package backend

import (
	"time"

	"github.com/minconsul/minconsul/internal/telemetry"
	"github.com/minconsul/minconsul/structs"
)

// Consul's names for the timers of writes, by command.
var (
	keyKVSApply          = []string{"kvs", "apply"}
	keyCatalogRegister   = []string{"catalog", "register"}
	keyCatalogDeregister = []string{"catalog", "deregister"}
	keyRPCRequest        = []string{"rpc", "request"}
	keyRPCServerCall     = []string{"rpc", "server", "call"}
	keyClientRPC         = []string{"client", "rpc"}
)

func applyKey(t structs.CommandType) []string {
	switch {
	case t.IsKV():
		return keyKVSApply
	case t == structs.CatalogRegister:
		return keyCatalogRegister
	case t == structs.CatalogDeregister:
		return keyCatalogDeregister
	}
	return nil
}

// served records a call another agent sent here (Consul's
// consul.rpc.request counter and consul.rpc.server.call timer by method).
func (b *Backend) served(method string, start time.Time) {
	if b.metrics == nil {
		return
	}
	b.metrics.IncrCounter(keyRPCRequest, 1)
	b.metrics.MeasureSince(keyRPCServerCall, start, telemetry.Label{Name: "method", Value: method})
}
