// `docker volume ls` and Docker's volume object, written once (as
// container_list.hpp does for ps): vol-mount's volumes in the Engine API's
// shape, filtered as dockerd filters them; ctld sends that list, and one
// renderer prints it for ctl and ctl -H alike.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/container_list.hpp"

namespace ctk::engine {

struct ListOptions;

// Docker's volume object of vol-mount's (ls or inspect output): its users
// dropped, Labels/Options/Scope/Driver filled in.
Json docker_volume(Json vol_mount_volume);

// GET /volumes' "Volumes": every volume, filtered (name, label, driver,
// dangling); an unknown key is an ErrorKind::invalid error.
std::vector<Json> list_volumes(const FilterMap& filters);

// ctl volume ls's output from such entries: -q, --format, the table.
std::string render_volumes(const std::vector<Json>& entries, const ListOptions& o);

} // namespace ctk::engine
