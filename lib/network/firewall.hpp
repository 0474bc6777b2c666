// ctk's packet filter and NAT rules, all in one nftables table `ip ctk`:
//
//   chain guard       prerouting filter -300  drop 127.0.0.0/8 arriving on a ctk bridge;
//                                             no conntrack between containers of one network
//   chain isolate     forward filter -1       drop bridge A -> bridge B (set @bridges)
//   chain forward     forward filter 0        return traffic, published ports, internal networks
//   chain prerouting  prerouting nat -100     DNAT of published ports (other hosts, containers)
//   chain output      output nat -100         DNAT of published ports (this host, 127.0.0.1 too)
//   chain postrouting postrouting nat 100     masquerade
//
// Separate base chains at different priorities instead of jumps, so that each
// network's rules can be added and removed on their own, in any order.
// A network's rules carry the comment "ctk network <id12> on <bridge>", an
// endpoint's "ctk endpoint <id12> on <bridge>"; removal lists the table and
// deletes by comment. The table and its base chains are shared by every
// network (of every store on the host) and stay.
#pragma once

#include <string>

#include "network/network.hpp"

namespace ctk::network {

inline constexpr const char* nft_table = "ctk";

std::string network_rule_comment(const Network& n);
std::string endpoint_rule_comment(const Network& n, const Endpoint& e);

// Table, chains, the bridge in @bridges, the network's rules. One transaction.
void add_network_rules(const Network& n);
// Published ports of one endpoint (nothing when it has none).
void add_endpoint_rules(const Network& n, const Endpoint& e);
// Deletes every rule with this comment (also as older versions wrote it,
// without " on <bridge>"); returns how many.
int delete_rules(const std::string& comment);
// The network's rules and its @bridges element; the table stays.
void delete_network_rules(const Network& n);
// Garbage collection: the rules (and @bridges elements) of every network and
// endpoint whose bridge no longer exists, whichever store made them (a
// network removed by a tool that crashed, a bridge deleted by hand). Rules
// exist only while their bridge does: made after it, deleted before it.
// Returns how many rules were deleted.
int collect_rules();

} // namespace ctk::network
