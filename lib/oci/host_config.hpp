// Docker's HostConfig (the Engine API's shape): the settings `docker run`
// gives a container beyond its image's config. The engine keeps it in the
// container's record; img-unpack --host-config applies it to config.json
// (image/spec.hpp). Read leniently, as records always were read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.hpp"

namespace ctk::oci {

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

// Docker's HostConfig, the fields ctk acts on typed, every other key in
// `extra`, written back as read. A missing, null or mistyped field reads as
// its default.
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

// A device node of the host (HostConfig.Devices' PathOnHost). invalid, in
// docker's words, when the path is not absolute, missing or not a device.
struct HostDevice {
    std::string type; // "c" or "b"
    int64_t major = 0, minor = 0;
    uint32_t mode = 0;
};
HostDevice host_device(const std::string& path);

// Lenient reads of Docker-shaped JSON (records, API bodies): a missing, null
// or mistyped field reads as empty.
namespace lenient {
const Json* field(const Json& j, const char* key); // nullptr when absent or null
std::string string_field(const Json& j, const char* key);
bool bool_field(const Json& j, const char* key);
int64_t int_field(const Json& j, const char* key);
std::vector<std::string> strings_in(const Json* v);
// null stays null (docker shows "CapAdd": null), a list stays a list
std::optional<std::vector<std::string>> nullable_strings(const Json& j, const char* key);
Json nullable(const std::optional<std::vector<std::string>>& v);
Json raw_field(const Json& j, const char* key); // the value, or null
} // namespace lenient

} // namespace ctk::oci
