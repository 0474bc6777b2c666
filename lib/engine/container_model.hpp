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
#include "oci/host_config.hpp"

namespace ctk::engine {

using oci::HostConfig;
using oci::NetworkMode;
using oci::PortBinding;
using oci::PortBindings;
using oci::split_port_key;

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

// The exit a foreground run recorded when the runtime's state was gone.
struct LastExit {
    int64_t exit_code = 0;
    std::string started_at, finished_at; // RFC 3339; started_at often absent
    Json extra = Json::object();
};

// The record's "Ctk" section: ctk's own facts about a container. Every field
// keeps absent and present apart and unknown keys stay in `extra`, so a
// record of any build is written back as it was read.
struct CtkSection {
    std::optional<std::string> setup;     // setup::creating | ready | removing (absent: ready)
    std::optional<std::string> image_ref; // the store layout's name img-unpack --image takes
    std::optional<std::string> mode;      // the bundle's mode ("overlay")
    std::optional<std::vector<std::string>> networks; // attached through its own netns; the first is NetworkMode's
    std::optional<Json> endpoints;        // network -> its EndpointsConfig entry (Aliases, IPAMConfig)
    std::optional<std::map<std::string, std::string>> anonymous_volumes; // container path -> volume name
    std::optional<std::string> bundle, netns; // set with the ID; netns "" without networks
    std::optional<std::string> join_netns;    // --network container:X: X's namespace
    std::optional<LastExit> last_exit;
    Json extra = Json::object();

    static CtkSection from_json(const Json& j); // ErrorKind::invalid naming the field on a wrong type
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
