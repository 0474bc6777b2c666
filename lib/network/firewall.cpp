#include "network/firewall.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <functional>
#include <set>

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

std::string network_rule_comment(const Network& n) { return "ctk network " + n.short_id() + " on " + n.bridge; }
std::string endpoint_rule_comment(const Network& n, const Endpoint& e) {
    return "ctk endpoint " + e.short_id() + " on " + n.bridge;
}

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
    const std::string tag = endpoint_rule_comment(n, e);
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
    b.commit();
}

namespace {

// "ctk network <id12> on <bridge>" and "ctk endpoint <id12> on <bridge>" are
// one object's rules; so is "ctk network <id12>" as versions before the
// bridge was named wrote it.
bool same_owner(const std::string& comment, const std::string& tag) {
    if (comment == tag) return true;
    auto on = tag.find(" on ");
    return on != std::string::npos && comment == tag.substr(0, on);
}

// The bridge a rule's comment names, or "".
std::string rule_bridge(const std::string& comment) {
    if (comment.rfind("ctk network ", 0) != 0 && comment.rfind("ctk endpoint ", 0) != 0) return "";
    auto on = comment.find(" on ");
    return on == std::string::npos ? "" : comment.substr(on + 4);
}

void delete_bridge_element(const std::string& bridge) {
    try {
        nft::Batch b(nft_table);
        b.delete_ifname_element(bridges_set, bridge);
        b.commit();
    } catch (const Error& e) {
        if (e.error_number() != ENOENT) throw;
    }
}

// Deletes the listed rules that `pick` selects, in one transaction. A rule
// that another tool deleted meanwhile fails the whole transaction with
// ENOENT: the table is listed again, a few times.
int delete_rules_where(const std::function<bool(const nft::RuleRef&)>& pick) {
    for (int attempt = 0;; ++attempt) {
        nft::Batch b(nft_table);
        int count = 0;
        for (const auto& r : nft::list_rules(nft_table)) {
            if (!pick(r)) continue;
            b.delete_rule(r.chain, r.handle);
            ++count;
        }
        try {
            b.commit();
            return count;
        } catch (const Error& e) {
            if (e.error_number() != ENOENT || attempt == 3) throw;
        }
    }
}

} // namespace

int delete_rules(const std::string& tag) {
    return delete_rules_where([&](const nft::RuleRef& r) { return same_owner(r.comment, tag); });
}

void delete_network_rules(const Network& n) {
    delete_rules(network_rule_comment(n));
    delete_bridge_element(n.bridge);
}

int collect_rules() {
    if (!nft::table_exists(nft_table)) return 0;
    std::set<std::string> gone;
    int count = delete_rules_where([&](const nft::RuleRef& r) {
        std::string bridge = rule_bridge(r.comment);
        if (bridge.empty() || ::if_nametoindex(bridge.c_str()) != 0) return false;
        gone.insert(bridge);
        return true;
    });
    for (const auto& bridge : gone) delete_bridge_element(bridge);
    return count;
}

} // namespace ctk::network
