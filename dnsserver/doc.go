// Package dnsserver serves Consul's DNS interface over UDP and TCP with
// github.com/miekg/dns. It owns name parsing, record building, truncation
// and forwarding; it reads the catalog only through the catalog and health
// reads of the backend contract (Store), never writes, and never knows
// which server answers.
//
// Behaviour, following Consul's agent/dns.go:
//   - [tag.]<svc>.service[.<dc>[.dc]].<domain>, _<svc>._<tag>.service... (RFC
//     2782, "_tcp" = no tag filter; the "service" label may be left out for
//     SRV), <node>.node[.<dc>], <hex-ip>.addr[.<dc>]. Another datacenter,
//     prepared queries, Connect, ingress and virtual names: NXDOMAIN.
//   - Instances with a critical (or maintenance) check are dropped, warning
//     ones too with OnlyPassing; no instance left: NXDOMAIN. Answers are
//     shuffled.
//   - A/AAAA use the service address, else the node's. SRV targets are
//     <node>.node.<dc>.<domain> when the instance uses the node's address,
//     <hex>.addr.<dc>.<domain> when it has an IP of its own, else its host
//     name; A/AAAA glue goes to the additional section. SRV weight comes
//     from Weights (warning weight when a check warns; unset = 1).
//   - NXDOMAIN and NODATA carry the SOA (ns.<domain>, hostmaster.<domain>,
//     serial = unix time, 3600/600/86400/0) in the authority section.
//   - PTR: node addresses map to <node>.node.<dc>.<domain>, service
//     addresses to <svc>.service.<dc>.<domain>; unknown ones are recursed.
//   - UDP: without EDNS0 at most UDPAnswerLimit (3) answers; never more than
//     the client's buffer (512 without EDNS0). Trimmed answers set TC only
//     with EnableTruncate, as Consul; TCP carries up to 64 KiB. An OPT is
//     echoed when the query had one.
//   - Outside the domain: forwarded to Recursors in order over the client's
//     protocol (next one on error or an rcode other than NOERROR/NXDOMAIN,
//     SERVFAIL when all fail); REFUSED without recursors.
//   - qdcount != 1 and undecodable packets: FORMERR (miekg's accept
//     function); opcodes other than QUERY: NOTIMP.
package dnsserver
