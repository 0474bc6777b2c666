// The container's description as typed values, parsed once at the edge of the
// engine (the request, the record read from container.json) instead of being
// read with string keys wherever it is needed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace ctk::engine {

// Docker's HostConfig.NetworkMode: "default" or "bridge" (the default bridge
// network), "none", "host", "container:NAME|ID", or a user network's name.
// The string is kept as given ("" reads as "default"), so records and inspect
// show what the user wrote.
class NetworkMode {
public:
    enum class Kind { bridge, none, host, container, user };

    NetworkMode() = default;
    static NetworkMode parse(std::string_view mode);

    const std::string& str() const { return text_; }
    Kind kind() const { return kind_; }
    bool is_default() const { return kind_ == Kind::bridge; } // "default" or "bridge"
    bool is_none() const { return kind_ == Kind::none; }
    bool is_host() const { return kind_ == Kind::host; }
    bool is_container() const { return kind_ == Kind::container; }
    bool is_user() const { return kind_ == Kind::user; }
    // The container gets a network namespace of its own, attached to a network.
    bool attaches() const { return kind_ == Kind::bridge || kind_ == Kind::user; }
    // container:NAME -> NAME; "" for the other kinds.
    std::string container() const;
    // The network a container in this mode attaches to: "bridge" for default
    // and bridge, the name for a user network, "" for none, host, container:.
    std::string network_name() const;

    bool operator==(const NetworkMode& o) const { return text_ == o.text_; }

private:
    std::string text_ = "default";
    Kind kind_ = Kind::bridge;
};

// One HostConfig.PortBindings entry: {"HostIp": "", "HostPort": "8080"}.
struct PortBinding {
    std::string host_ip;   // "" = every address
    std::string host_port; // "" = any free port (docker -p 80)
    bool operator==(const PortBinding&) const = default;
};

// HostConfig.PortBindings: "80/tcp" -> its bindings, in the key order Docker keeps.
struct PortBindings {
    std::map<std::string, std::vector<PortBinding>> ports;

    static PortBindings from_json(const Json& j);
    Json to_json() const;
    bool empty() const { return ports.empty(); }
    // net-bridge's --publish specs ("[IP:]HOSTPORT:PORT[/PROTO]"); a binding
    // without a host port takes the container's port.
    std::vector<std::string> publish_specs() const;
};

// "80/tcp" -> {"80", "tcp"}; a key without a protocol is tcp.
std::pair<std::string, std::string> split_port_key(const std::string& key);

// Docker's HostConfig as the container record keeps it (container.json),
// the fields ctk acts on typed, every other key in `extra`, written back as
// read. Read leniently, as the record always was: a missing, null or mistyped
// field reads as its default.
struct HostConfig {
    std::optional<std::vector<std::string>> binds; // -v specs; null when none
    Json mounts;                                   // --mount entries (API shape), null when none
    Json tmpfs;                                    // {"/run": "size=64m"}, null when none
    NetworkMode network_mode;
    PortBindings port_bindings;
    bool auto_remove = false;
    bool readonly_rootfs = false;
    std::optional<bool> init;
    std::optional<std::vector<std::string>> cap_add, cap_drop, security_opt, extra_hosts, group_add;
    std::vector<std::string> dns, dns_search, dns_options;
    std::string pid_mode, ipc_mode, cgroup_parent;
    Json devices = Json::array(); // [{"PathOnHost", "PathInContainer", "CgroupPermissions"}]
    int64_t memory = 0, memory_swap = 0, nano_cpus = 0, cpu_period = 0, cpu_quota = 0;
    std::optional<int64_t> pids_limit;
    Json ulimits;   // [{"Name", "Soft", "Hard"}], null when none
    Json sysctls;   // {"net.x": "1"}, null when none
    Json extra = Json::object();

    static HostConfig from_json(const Json& j);
    Json to_json() const;
};

// Docker's container Config as the record keeps it: the fields the engine
// acts on typed (null and absent kept apart, so a record is written back as
// it was read), every other key (Cmd, Entrypoint, Volumes, Attach*, Healthcheck
// …) in `extra`.
struct ContainerConfig {
    std::string hostname, domainname, user, image, working_dir;
    bool tty = false;
    std::optional<std::vector<std::string>> env;             // null: none
    std::optional<std::map<std::string, std::string>> labels; // null: none
    std::optional<std::vector<std::string>> exposed_ports;    // "80/tcp" keys; absent: none
    std::optional<std::string> stop_signal;                   // absent: SIGTERM
    std::optional<int64_t> stop_timeout;                      // absent: 10 s
    Json extra = Json::object();

    static ContainerConfig from_json(const Json& j);
    Json to_json() const;
};

// NetworkSettings.Networks.<name> of docker inspect (EndpointSettings).
struct EndpointSettings {
    Json aliases;          // null or a list
    std::string network_id, endpoint_id, gateway, ip_address, mac_address;
    int ip_prefix_len = 0;
    Json extra = Json::object(); // IPAMConfig, Links, DriverOpts … as read

    static EndpointSettings from_json(const Json& j);
    Json to_json() const; // with Docker's IPv6 fields empty: ctk containers are IPv4
};

// docker inspect's NetworkSettings: the sandbox, the published ports, the
// endpoints, and the default network's address at the top level (Docker's
// deprecated fields, still shown).
struct NetworkSettings {
    std::string sandbox_id, sandbox_key;
    Json ports = Json::object(); // "80/tcp" -> null or [{"HostIp", "HostPort"}]
    std::string gateway, ip_address, mac_address;
    int ip_prefix_len = 0;
    std::map<std::string, EndpointSettings> networks;

    Json to_json() const;
};

} // namespace ctk::engine
