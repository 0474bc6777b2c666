// `docker network ls` and Docker's network object, written once (as
// container_list.hpp does for ps): the engine turns net-bridge's networks into
// the Engine API's shape and lists them with host and none (dockerd's
// predefined networks) filtered as dockerd filters; ctld sends that list, and
// one renderer prints it for ctl and ctl -H alike.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/container_list.hpp"

namespace ctk::engine {

struct ListOptions;

// net-bridge ls: its networks as it prints them.
std::vector<Json> bridge_networks();

// Docker's network object of a net-bridge network (ls or inspect output):
// endpoints as Containers, IPAM, Options as dockerd shows them (the default
// bridge's driver options; {} for a user network made without options).
Json docker_network(const Json& net_bridge_network);

// host and none, which net-bridge does not make.
Json predefined_network(const std::string& name);

// GET /networks: every network, filtered (name, id, label, driver, scope,
// type, dangling); an unknown key is an ErrorKind::invalid error.
std::vector<Json> list_networks(const FilterMap& filters);

// ctl network ls's output from such entries: -q, --no-trunc, --format, the table.
std::string render_networks(const std::vector<Json>& entries, const ListOptions& o);

} // namespace ctk::engine
