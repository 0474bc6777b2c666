// The network object: a bridge, its subnet and gateway, its options, and the
// endpoints attached to it with the addresses they hold. One JSON file per
// network in the store ($CTK_ROOT/networks/<name>.json); every change is made
// under the store's network lock and written atomically, so IPAM needs no
// other database.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/lock.hpp"
#include "network/address.hpp"
#include "store/paths.hpp"

namespace ctk::network {

inline constexpr const char* default_network_name = "bridge";
inline constexpr const char* default_bridge_name = "ctk0";
inline constexpr const char* default_subnet = "172.17.0.0/16";

struct Endpoint {
    std::string id;            // 64 hex, the endpoint's identity (rules carry its prefix)
    std::string container_id;  // --id / CNI_CONTAINERID, or "" when attached by namespace only
    std::string name;          // container name, resolvable on user networks
    std::vector<std::string> aliases;
    std::string netns;         // the path it was attached through
    std::string netns_key;     // "<dev>:<inode>" of the namespace
    std::string ifname;        // inside the namespace
    std::string host_ifname;   // the veth end on the bridge
    std::string mac;
    uint32_t address = 0;
    bool default_route = false; // whether attach added the namespace's default route
    bool lo_up = false;         // whether attach set the namespace's lo up
    std::vector<PortMapping> ports;
    std::string resolv_conf;   // generated files under $CTK_RUN
    std::string hosts;
    Json extra = Json::object();

    std::string short_id() const { return id.substr(0, 12); }
};

struct Network {
    std::string name;
    std::string id;         // 64 hex
    std::string bridge;     // device name
    Subnet subnet;
    uint32_t gateway = 0;
    bool internal = false;
    bool masquerade = true;
    unsigned mtu = 1500;
    std::map<std::string, std::string> labels;
    std::string created;    // RFC 3339
    std::string source;     // "ctk" (net-bridge create / default) or "cni"
    std::vector<Endpoint> endpoints;
    Json extra = Json::object();

    bool is_default() const { return name == default_network_name; }
    // Whether containers find each other by name here (user networks, as Docker).
    bool has_names() const { return !is_default() && source != "cni"; }
    std::string short_id() const { return id.substr(0, 12); }
    Endpoint* find_endpoint_by_key(const std::string& netns_key);
    Endpoint* find_endpoint_by_container(const std::string& container_id);
};

Json to_json(const Network& n);
Network network_from_json(const Json& j, const std::string& what);

// Network names as Docker allows them: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64.
void check_network_name(const std::string& name);
// Interface names: 1-15 bytes, no '/', ':' or whitespace.
void check_ifname(const std::string& name);

// The "network" section of the configuration file.
struct NetworkConfig {
    Subnet default_subnet;
    std::string default_bridge = default_bridge_name;
    // upstream nameservers for containers: "dns" exactly when set, else
    // upstream_nameservers() (network/container_files.hpp)
    std::vector<std::string> dns;
    static NetworkConfig load();
};

// Every network file; the lock is $CTK_ROOT/networks/.lock.
class NetworkStore {
public:
    explicit NetworkStore(store::Paths paths);

    const store::Paths& paths() const { return paths_; }
    // Takes the store's network lock (exclusive) for a read-modify-write.
    FileLock lock() const;

    bool exists(const std::string& name) const;
    Network load(const std::string& name) const; // not_found when absent
    std::vector<Network> list() const;
    // Atomic replace (temporary name, rename). `durable` adds the fsyncs: for
    // network definitions (create). Endpoint changes skip them: the links,
    // addresses and rules they describe do not survive a crash either, and
    // host-local (the CNI reference IPAM) does not sync its files at all.
    void save(const Network& n, bool durable = true) const;
    void remove(const std::string& name) const;

    // A new network record, checked against the others (name, subnet overlap,
    // bridge name), not yet saved.
    Network make(const std::string& name, const std::optional<std::string>& subnet,
                 const std::optional<std::string>& gateway, const std::string& bridge) const;
    // Under the lock: the default network, its record made from the
    // configuration when missing.
    Network load_or_make_default(const NetworkConfig& config) const;

    // $CTK_RUN/networks/<name>/: resolv.conf, hosts, the DNS responder's pid file.
    std::string run_dir(const std::string& network) const;

private:
    store::Paths paths_;
};

// IPAM: the lowest free host address (network, broadcast and gateway
// excluded), or `requested` when it is free. Exhausted or taken: conflict.
uint32_t allocate_address(const Network& n, std::optional<uint32_t> requested);

std::string now_rfc3339();

// Atomic replace without fsync (temporary name in the same directory, rename).
void replace_file(const std::string& path, const std::string& data, mode_t mode = 0644);

} // namespace ctk::network
