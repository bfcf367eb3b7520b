package structs

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCheckDefinition_SnakeCaseKeys(t *testing.T) {
	var got CheckDefinition
	err := json.Unmarshal([]byte(`{"name":"x","service_id":"web","tls_skip_verify":true,"tls_server_name":"a",
		"deregister_critical_service_after":"1m","success_before_passing":2,"failures_before_critical":3,
		"failures_before_warning":1,"grpc_use_tls":true,"grpc":"h:1","h2ping_use_tls":true,"docker_container_id":"c",
		"script_args":["/x"],"alias_service":"s","alias_node":"n","disable_redirects":true,
		"header":{"X_Keep":["v"]},"Interval":"5s","interval":"9s"}`), &got)
	if err != nil {
		t.Fatal(err)
	}
	want := CheckDefinition{Name: "x", ServiceID: "web", TLSSkipVerify: true, TLSServerName: "a",
		DeregisterCriticalServiceAfter: "1m", SuccessBeforePassing: 2, FailuresBeforeCritical: 3, FailuresBeforeWarning: 1,
		GRPCUseTLS: true, GRPC: "h:1", H2PingUseTLS: true, DockerContainerID: "c", ScriptArgs: []string{"/x"},
		AliasService: "s", AliasNode: "n", DisableRedirects: true, Header: map[string][]string{"X_Keep": {"v"}}}
	// Two spellings of one key: encoding/json keeps the last it reads,
	// and map order is random; only check it is one of them.
	if got.Interval != "5s" && got.Interval != "9s" {
		t.Fatalf("Interval %q", got.Interval)
	}
	got.Interval = ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{`[1]`, `{"TTL": 5}`, `"x"`} {
		if err := json.Unmarshal([]byte(bad), new(CheckDefinition)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	var nilDef *CheckDefinition
	if err := json.Unmarshal([]byte(`null`), &nilDef); err != nil || nilDef != nil {
		t.Fatalf("null: %v %v", nilDef, err)
	}
}

func FuzzCheckDefinition_Unmarshal(f *testing.F) {
	f.Add([]byte(`{"tls_skip_verify":true,"Name":"a"}`))
	f.Add([]byte(`{"a_b":1,"ab":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c CheckDefinition
		if err := json.Unmarshal(b, &c); err != nil {
			return
		}
		// What decoded re-encodes and decodes to the same definition.
		out, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		var again CheckDefinition
		if err := json.Unmarshal(out, &again); err != nil || !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, c, again)
		}
	})
}
