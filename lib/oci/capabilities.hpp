// Linux capability names as the OCI runtime spec writes them ("CAP_NET_ADMIN"),
// and Docker's default set. One table for img-unpack's spec and ctl's flags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ctk::oci {

// Docker's default capability set (moby daemon/pkg/oci/caps/defaults.go).
const std::vector<std::string>& docker_default_capabilities();
// Every capability the kernel headers know (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE).
const std::vector<std::string>& all_capabilities();
// "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL".
// Throws ErrorKind::invalid for an unknown name.
std::string normalize_capability(std::string_view name);

} // namespace ctk::oci
