package structs

import (
	"encoding/json"
	"strings"
)

// UnmarshalJSON accepts a check definition's keys in Consul's snake_case
// spelling too ("tls_skip_verify", "deregister_critical_service_after",
// "docker_container_id", "success_before_passing", ...), as Consul's
// agent endpoints do: underscores are dropped from top-level keys, and
// encoding/json matches the rest case-insensitively. Nested values
// (Header names) are left as they are.
func (c *CheckDefinition) UnmarshalJSON(b []byte) error {
	type plain CheckDefinition
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		// Not an object (or null): let the plain decoder say what is wrong.
		return json.Unmarshal(b, (*plain)(c))
	}
	fixed := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		if strings.Contains(k, "_") {
			k2 := strings.ReplaceAll(k, "_", "")
			if _, taken := raw[k2]; taken {
				continue // the CamelCase spelling wins
			}
			k = k2
		}
		fixed[k] = v
	}
	norm, err := json.Marshal(fixed)
	if err != nil {
		return err
	}
	return json.Unmarshal(norm, (*plain)(c))
}
