// The one configuration file of ctk, shared by every tool: JSON at $CTK_CONFIG,
// else /etc/ctk/ctk.json. A missing file is an empty configuration. Each tool
// reads its own section:
//
//   {
//     "registry": { ... },   reg-fetch: default registry, per-registry settings, mirrors
//     "network":  { ... },   net-bridge: default network subnet, bridge name, DNS upstreams
//     ...
//   }
//
// Tests point CTK_CONFIG at a file in their temporary directory.
#pragma once

#include <string>

#include "core/json.hpp"

namespace ctk::store {

inline constexpr const char* default_config_path = "/etc/ctk/ctk.json";

// $CTK_CONFIG or the default path.
std::string config_path();
// The whole file (an empty object when it does not exist); malformed JSON is an
// ErrorKind::invalid error naming the file.
Json load_config();
// One section, an empty object when absent; throws when it is not an object.
Json config_section(const Json& config, const char* name);

} // namespace ctk::store
