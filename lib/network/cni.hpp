// net-bridge as a CNI 1.0 plugin (CNI spec, "Plugin execution"): run with
// CNI_COMMAND set, the network configuration on stdin, the result or the
// error as JSON on stdout. It reads the reference `bridge` plugin's fields
// (bridge, isGateway, isDefaultGateway, ipMasq, mtu, hairpinMode, ipam.subnet
// or ipam.ranges, ipam.gateway, ipam.routes, dns) so one configuration works
// with either, and does its own IPAM in the ctk network file of the same name
// ($CTK_ROOT/networks/<name>.json, source "cni").
#pragma once

#include <map>
#include <string>

#include "core/json.hpp"

namespace ctk::network {

struct CniOutcome {
    int exit_code = 0;
    Json output; // result, version or error object; null for a DEL that prints nothing
};

// env: the CNI_* variables (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS).
CniOutcome run_cni(const std::map<std::string, std::string>& env, const std::string& stdin_config);

} // namespace ctk::network
