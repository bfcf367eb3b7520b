package structs

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestServiceDefinition_SnakeCaseKeys(t *testing.T) {
	var got ServiceDefinition
	err := json.Unmarshal([]byte(`{"name":"web","id":"web1","port":80,"enable_tag_override":true,
		"tagged_addresses":{"lan":{"address":"10.0.0.1","port":80}},
		"checks":[{"check_id":"c","ttl":"10s","deregister_critical_service_after":"1m"}],
		"check":{"name":"one","tcp":"127.0.0.1:1","interval":"5s","tls_skip_verify":true}}`), &got)
	if err != nil {
		t.Fatal(err)
	}
	want := ServiceDefinition{Name: "web", ID: "web1", Port: 80, EnableTagOverride: true,
		TaggedAddresses: map[string]ServiceAddress{"lan": {Address: "10.0.0.1", Port: 80}},
		Checks:          []*CheckDefinition{{CheckID: "c", TTL: "10s", DeregisterCriticalServiceAfter: "1m"}},
		Check:           &CheckDefinition{Name: "one", TCP: "127.0.0.1:1", Interval: "5s", TLSSkipVerify: true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %+v\nwant %+v", got, want)
	}

	// CamelCase wins where both are given, as Consul's decoder.
	var both ServiceDefinition
	if err := json.Unmarshal([]byte(`{"Name":"a","EnableTagOverride":true,"enable_tag_override":false,
		"TaggedAddresses":{"wan":{"Address":"1.2.3.4"}},"tagged_addresses":{"lan":{"Address":"5.6.7.8"}}}`), &both); err != nil {
		t.Fatal(err)
	}
	if !both.EnableTagOverride || len(both.TaggedAddresses) != 1 || both.TaggedAddresses["wan"].Address != "1.2.3.4" {
		t.Fatalf("CamelCase lost: %+v", both)
	}

	for _, bad := range []string{`[1]`, `{"Port":"x"}`, `{"enable_tag_override":"yes"}`, `{"tagged_addresses":[1]}`, `"x"`} {
		if err := json.Unmarshal([]byte(bad), new(ServiceDefinition)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	var nilDef *ServiceDefinition
	if err := json.Unmarshal([]byte(`null`), &nilDef); err != nil || nilDef != nil {
		t.Fatalf("null: %v %v", nilDef, err)
	}
}

func FuzzServiceDefinition_Unmarshal(f *testing.F) {
	f.Add([]byte(`{"name":"web","enable_tag_override":true,"tagged_addresses":{"lan":{"address":"a","port":1}}}`))
	f.Add([]byte(`{"Name":"a","TaggedAddresses":{},"tagged_addresses":{"x":{}},"checks":[{"check_id":"c"}]}`))
	f.Add([]byte(`{"check":null,"Checks":[null],"Weights":{"Passing":1}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d ServiceDefinition
		if err := json.Unmarshal(b, &d); err != nil {
			return
		}
		// Once re-encoded (CamelCase only), a definition is a fixed point:
		// encoding and decoding again changes nothing.
		once := roundTrip(t, &d)
		if twice := roundTrip(t, once); !reflect.DeepEqual(once, twice) {
			t.Fatalf("not a fixed point:\n%+v\n%+v", once, twice)
		}
	})
}

func roundTrip(t *testing.T, d *ServiceDefinition) *ServiceDefinition {
	t.Helper()
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var again ServiceDefinition
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatalf("re-decode %s: %v", out, err)
	}
	return &again
}

var benchService = []byte(`{"ID":"web1","Name":"web","Tags":["a","b"],"Port":8080,"enable_tag_override":true,
	"tagged_addresses":{"lan":{"address":"10.0.0.1","port":8080}},"Meta":{"k":"v"},
	"Check":{"HTTP":"http://127.0.0.1:8080/health","Interval":"10s"}}`)

// The snake_case-aware decoder next to a bare encoding/json decode of the
// same struct (no UnmarshalJSON of its own), in the same run.
func BenchmarkServiceDefinition_Unmarshal(b *testing.B) {
	b.Run("snake_case-aware", func(b *testing.B) {
		for range b.N {
			var d ServiceDefinition
			if err := json.Unmarshal(benchService, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-plain", func(b *testing.B) {
		type plain ServiceDefinition
		for range b.N {
			var d plain
			if err := json.Unmarshal(benchService, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
