"""Drives a minconsul agent with python-consul (Debian's python3-consul).

Usage: python_consul.py HOST PORT NODE

Prints one JSON object per line on stdout. A line with "wait" asks the Go
test to make a write (the script is then blocked on an index query that the
write must wake); the last line holds "result", which the Go test checks.
Every step also asserts here, so a failure names the step in the traceback.
"""
import json
import sys
import time

import consul
from consul.base import CB

host, port, node = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = consul.Consul(host=host, port=port)
out = {"library": getattr(consul, "__version__", "?")}


def say(obj):
    print(json.dumps(obj), flush=True)


def status_of(method, path):
    """The status code of a request made with the library's own transport."""
    return getattr(c.http, method)(lambda r: r.code, path)


# --- KV: put/get with flags, bytes values, cas, recurse, keys, delete ---
assert c.kv.put("py/a", b"\x00\xffbin", flags=42) is True
idx, e = c.kv.get("py/a")
assert e["Value"] == b"\x00\xffbin" and e["Flags"] == 42, e
assert int(idx) >= e["ModifyIndex"], (idx, e)
out["kv_a"] = {"value_hex": e["Value"].hex(), "flags": e["Flags"]}

assert c.kv.put("py/b", "text") is True
assert c.kv.put("py/b", "again", cas=0) is False  # cas=0: only if absent
_, b = c.kv.get("py/b")
assert c.kv.put("py/b", "stale", cas=b["ModifyIndex"] + 1000) is False
assert c.kv.put("py/b", "swapped", cas=b["ModifyIndex"]) is True
_, b = c.kv.get("py/b")
assert b["Value"] == b"swapped", b

assert c.kv.put("py/dir/", None) is True  # a "directory" key, empty body
_, d = c.kv.get("py/dir/")
out["kv_empty_value"] = repr(d["Value"])  # Consul answers null: None

_, missing = c.kv.get("py/nope")
assert missing is None

_, rows = c.kv.get("py/", recurse=True)
out["kv_recurse_keys"] = [r["Key"] for r in rows]
assert all(isinstance(r["Value"], (bytes, type(None))) for r in rows), rows
_, keys = c.kv.get("py/", keys=True, separator="/")
out["kv_keys_sep"] = keys

assert c.kv.delete("py/b", cas=b["ModifyIndex"] + 1000) is False
assert c.kv.get("py/b")[1] is not None
assert c.kv.delete("py/b", cas=b["ModifyIndex"]) is True
assert c.kv.get("py/b")[1] is None
assert c.kv.delete("py/dir/") is True

# --- index-blocking get woken by a write from Go ---
idx, e = c.kv.get("py/a")
_, nochange = c.kv.get("py/a", index=idx, wait="100ms")  # times out, same entry
assert nochange["ModifyIndex"] == e["ModifyIndex"], nochange
say({"wait": "kv-write", "key": "py/a", "index": int(idx)})
start = time.monotonic()
idx2, e2 = c.kv.get("py/a", index=idx, wait="60s")
out["kv_blocking"] = {"index_before": int(idx), "index_after": int(idx2),
                      "value": e2["Value"].decode(), "seconds": time.monotonic() - start}
assert int(idx2) > int(idx) and e2["Value"] == b"from-go", (idx, idx2, e2)

assert c.kv.delete("py", recurse=True) is True
assert c.kv.get("py", recurse=True)[1] is None

# --- agent service with a TTL check, catalog, health ---
assert c.agent.service.register("pyweb", service_id="pyweb1", address="127.0.0.1", port=8080,
                                tags=["v1", "py"], check=consul.Check.ttl("60s")) is True
check_id = "service:pyweb1"
checks = c.agent.checks()
assert checks[check_id]["Status"] == "critical", checks  # a TTL check starts critical
# In the catalog as soon as the call returns (the agent syncs first).
_, inst = c.catalog.service("pyweb")
assert [i["ServiceID"] for i in inst] == ["pyweb1"], inst
assert inst[0]["ServicePort"] == 8080 and sorted(inst[0]["ServiceTags"]) == ["py", "v1"], inst
_, tagged = c.catalog.service("pyweb", tag="py")
_, untagged = c.catalog.service("pyweb", tag="nope")
assert len(tagged) == 1 and untagged == [], (tagged, untagged)
_, passing = c.health.service("pyweb", passing=True)
assert passing == [], passing

# python-consul 0.7 sends GET for check/pass, which Consul >= 1.0 refuses
# with 405 (the method is PUT); the library then answers False. Record what
# it did and pass the check with PUT through the library's own transport.
lib_pass = c.agent.check.ttl_pass(check_id, notes="ok from python")
out["ttl_pass_library"] = lib_pass
out["ttl_pass_get_status"] = status_of("get", "/v1/agent/check/pass/" + check_id)
if not lib_pass:
    assert c.http.put(CB.bool(), "/v1/agent/check/pass/%s" % check_id,
                      params={"note": "ok from python"}) is True
assert c.agent.checks()[check_id]["Status"] == "passing"

_, services = c.catalog.services()
out["catalog_services"] = services
idx, nodes = c.catalog.nodes()
out["catalog_nodes"] = [n["Node"] for n in nodes]
_, hs = c.health.service("pyweb", passing=True)
assert len(hs) == 1, hs
out["health_passing"] = {
    "node": hs[0]["Node"]["Node"],
    "service": hs[0]["Service"]["ID"],
    "checks": sorted((ch["CheckID"], ch["Status"], ch["Output"]) for ch in hs[0]["Checks"]),
}

# The check fails (written by Go): a blocking passing-only query wakes
# without the instance.
idx, _ = c.health.service("pyweb", passing=True)
say({"wait": "check-fail", "check": check_id, "index": int(idx)})
idx2, hs2 = c.health.service("pyweb", passing=True, index=idx, wait="60s")
out["health_after_fail"] = {"index_before": int(idx), "index_after": int(idx2),
                            "instances": [h["Service"]["ID"] for h in hs2]}
_, every = c.health.service("pyweb")
out["health_all_after_fail"] = [
    (h["Service"]["ID"], [ch["Status"] for ch in h["Checks"] if ch["CheckID"] == check_id])
    for h in every]

# --- agent and status ---
me = c.agent.self()
out["self"] = {"node": me["Config"]["NodeName"], "dc": me["Config"]["Datacenter"],
               "server": me["Config"]["Server"], "member": me["Member"]["Name"]}
out["leader"] = c.status.leader()
out["peers"] = c.status.peers()

# Deregistration: the library's GET is refused as by Consul; PUT works.
out["deregister_library"] = c.agent.service.deregister("pyweb1")
assert c.http.put(CB.bool(), "/v1/agent/service/deregister/pyweb1") is True
_, gone = c.catalog.service("pyweb")
out["catalog_after_deregister"] = gone

say({"result": out})
