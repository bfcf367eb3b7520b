package structs

import "encoding/json"

// UnmarshalJSON accepts the two snake_case service keys Consul's agent
// endpoint takes besides its CamelCase ones, "enable_tag_override" and
// "tagged_addresses" (other keys already match case-insensitively, and
// the checks inside carry their own snake_case handling). As Consul,
// enable_tag_override can only turn the flag on, and tagged_addresses is
// used when TaggedAddresses is absent or empty.
func (d *ServiceDefinition) UnmarshalJSON(b []byte) error {
	type plain ServiceDefinition
	aux := struct {
		*plain
		EnableTagOverrideSnake bool                      `json:"enable_tag_override"`
		TaggedAddressesSnake   map[string]ServiceAddress `json:"tagged_addresses"`
	}{plain: (*plain)(d)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	if aux.EnableTagOverrideSnake {
		d.EnableTagOverride = true
	}
	if len(d.TaggedAddresses) == 0 && aux.TaggedAddressesSnake != nil {
		d.TaggedAddresses = aux.TaggedAddressesSnake
	}
	return nil
}
