#include "network/firewall.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/error.hpp"
#include "linux/nftables.hpp"

namespace ctk::network {

namespace nft = ctk::linux::nft;

namespace {

const nft::BaseChain chains[] = {
    {"guard", "filter", nft::Hook::prerouting, -300},
    {"isolate", "filter", nft::Hook::forward, -1},
    {"forward", "filter", nft::Hook::forward, 0},
    {"prerouting", "nat", nft::Hook::prerouting, -100},
    {"output", "nat", nft::Hook::output, -100},
    {"postrouting", "nat", nft::Hook::postrouting, 100},
};

constexpr const char* bridges_set = "bridges";

in_addr_t be(uint32_t host_order) { return htonl(host_order); }

} // namespace

std::string network_rule_comment(const Network& n) { return "ctk network " + n.short_id(); }
std::string endpoint_rule_comment(const Endpoint& e) { return "ctk endpoint " + e.short_id(); }

void add_network_rules(const Network& n) {
    nft::Batch b(nft_table);
    b.add_table();
    for (const auto& c : chains) b.add_chain(c);
    b.add_ifname_set(bridges_set);
    b.add_ifname_element(bridges_set, n.bridge);
    const std::string tag = network_rule_comment(n);
    const std::string& br = n.bridge;
    const in_addr_t loopback = be(0x7f000000);

    // The bridge accepts 127.0.0.0/8 sources (route_localnet, for published
    // ports on 127.0.0.1); nothing on the bridge may send *to* 127.0.0.0/8
    // through it (CVE-2020-8558: route_localnet exposed localhost services).
    b.add_rule(nft::Rule("guard").iifname(br).daddr(loopback, 8).drop().comment(tag));
    // Container to container on one bridge needs no connection tracking (no
    // NAT, no stateful rule applies), and with br_netfilter loaded every
    // bridged packet would otherwise go through conntrack. Traffic to the
    // gateway stays tracked: published ports reached through it (hairpin).
    b.add_rule(nft::Rule("guard")
                   .iifname(br)
                   .saddr(be(n.subnet.network), n.subnet.length)
                   .daddr(be(n.subnet.network), n.subnet.length)
                   .daddr(be(n.gateway), 32, false)
                   .notrack()
                   .comment(tag));
    b.add_rule(nft::Rule("isolate").iifname(br).oifname(br, false).oifname_in(bridges_set).drop().comment(tag));
    if (n.internal) {
        b.add_rule(nft::Rule("forward").iifname(br).oifname(br, false).drop().comment(tag));
        b.add_rule(nft::Rule("forward").oifname(br).iifname(br, false).drop().comment(tag));
    } else {
        b.add_rule(nft::Rule("forward").oifname(br).ct_state(nft::ct_established | nft::ct_related).accept().comment(tag));
        b.add_rule(nft::Rule("forward").oifname(br).ct_status(nft::ct_status_dnat).accept().comment(tag));
        b.add_rule(nft::Rule("forward").oifname(br).iifname(br, false).drop().comment(tag));
        b.add_rule(nft::Rule("forward").iifname(br).accept().comment(tag));
        if (n.masquerade)
            b.add_rule(nft::Rule("postrouting")
                           .saddr(be(n.subnet.network), n.subnet.length)
                           .oifname(br, false)
                           .masquerade()
                           .comment(tag));
    }
    // Published ports reached from 127.0.0.1, and hairpin: a container reaching
    // a published port of its own network through a host address gets the
    // gateway as source, so the reply comes back through conntrack.
    b.add_rule(nft::Rule("postrouting").oifname(br).saddr(loopback, 8).masquerade().comment(tag));
    b.add_rule(nft::Rule("postrouting")
                   .oifname(br)
                   .saddr(be(n.subnet.network), n.subnet.length)
                   .ct_status(nft::ct_status_dnat)
                   .masquerade()
                   .comment(tag));
    b.commit();
}

void add_endpoint_rules(const Network& n, const Endpoint& e) {
    if (e.ports.empty()) return;
    nft::Batch b(nft_table);
    const std::string tag = endpoint_rule_comment(e);
    for (const auto& p : e.ports) {
        uint8_t proto = p.protocol == "udp" ? IPPROTO_UDP : IPPROTO_TCP;
        for (const char* chain : {"prerouting", "output"}) {
            nft::Rule r(chain);
            if (p.host_ip.empty()) {
                r.daddr_local();
            } else {
                r.daddr(be(parse_address(p.host_ip)), 32);
            }
            r.l4proto(proto).dport(p.host_port).dnat(be(e.address), p.container_port).comment(tag);
            b.add_rule(r);
        }
    }
    (void)n;
    b.commit();
}

int delete_rules(const std::string& comment) {
    auto rules = nft::list_rules(nft_table);
    nft::Batch b(nft_table);
    int count = 0;
    for (const auto& r : rules) {
        if (r.comment != comment) continue;
        b.delete_rule(r.chain, r.handle);
        ++count;
    }
    b.commit();
    return count;
}

void delete_network_rules(const Network& n) {
    delete_rules(network_rule_comment(n));
    try {
        nft::Batch b(nft_table);
        b.delete_ifname_element(bridges_set, n.bridge);
        b.commit();
    } catch (const Error& e) {
        if (e.error_number() != ENOENT) throw;
    }
}

} // namespace ctk::network
