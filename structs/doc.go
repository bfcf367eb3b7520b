// Package structs holds the types shared by every part of minconsul: the
// Consul-shaped JSON objects (DirEntry, Node, ServiceNode, HealthCheck, ...),
// the Raft commands the FSM applies, and the typed requests and answers of
// the read contract (requests.go: QueryOptions in, Indexed values with
// QueryMeta out), which travel between servers as they are.
//
// JSON field names and order follow Consul's HTTP API so that the official
// consul/api client and tools such as consul-template decode them unchanged.
// This package imports nothing from the rest of minconsul.
package structs
