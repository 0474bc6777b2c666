// The bridge driver: what `create`, `rm`, `attach` and `detach` do to the
// kernel, and the CNI-shaped result an attach prints.
//
// attach: bridge (made when missing) <- veth pair -> the namespace, renamed
// to its ifname, address, lo up, default route via the gateway, published
// ports, resolv.conf and hosts, the DNS responder on user networks. Every step
// is undone when a later one fails; detach undoes exactly what attach recorded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "network/dns.hpp"
#include "network/network.hpp"

namespace ctk::network {

struct AttachRequest {
    std::string network = default_network_name;
    std::string netns;      // --netns PATH
    int pid = 0;            // --pid PID
    std::optional<std::string> ifname;
    std::optional<std::string> ip;
    std::optional<std::string> mac;
    std::string container_id;
    std::string name;
    std::vector<std::string> aliases;
    std::vector<PortMapping> ports;
    bool default_route = true;
};

struct AttachResult {
    Network network;
    Endpoint endpoint;
    Json cni; // CNI 1.0 result
};

struct DetachRequest {
    std::string network = default_network_name;
    std::string netns;
    int pid = 0;
    std::string container_id;
};

struct CreateRequest {
    std::string name;
    std::optional<std::string> subnet;
    std::optional<std::string> gateway;
    std::string bridge;
    bool internal = false;
    bool masquerade = true;
    unsigned mtu = 1500;
    std::map<std::string, std::string> labels;
};

Network create_network(const NetworkStore& store, const CreateRequest& req);
// Refused (conflict) while an endpoint uses it.
void remove_network(const NetworkStore& store, const std::string& name);
// Removes every network without endpoints except the default one; returns their names.
std::vector<std::string> prune_networks(const NetworkStore& store);

AttachResult attach(const NetworkStore& store, const NetworkConfig& config, const AttachRequest& req);
// Returns the endpoint that was removed.
Endpoint detach(const NetworkStore& store, const DetachRequest& req);

// The bridge, its gateway address and the network's rules, made when the
// bridge is missing (first attach, `create`, after a reboot). Returns the
// bridge's interface index. Caller holds the store lock.
int ensure_bridge(const Network& n);

// The CNI 1.0 result of an endpoint (interfaces: bridge, host veth, container).
Json cni_result(const Network& n, const Endpoint& e, const ResolvConf& dns, const std::string& bridge_mac,
                const std::string& host_mac);

// What `inspect` prints: the network file plus the DNS responder's state.
Json inspect_json(const NetworkStore& store, const Network& n);

} // namespace ctk::network
