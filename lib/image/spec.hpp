// config.json from an image config (OCI image-spec conversion.md), with
// Docker's defaults for everything the image does not say: capabilities,
// mounts, masked and read-only paths, namespaces, device rules, rlimits,
// sysctls and the default seccomp profile. img-unpack writes it into the
// bundle; ctl calls the same function with the user's `docker run` options.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "oci/capabilities.hpp"
#include "oci/image.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::image {

// The capability table (oci/capabilities.hpp), named here for the spec's callers.
using oci::all_capabilities;
using oci::docker_default_capabilities;
using oci::normalize_capability;

struct SpecOptions {
    // Replace the image's Cmd (the words after the image in `docker run`).
    std::optional<std::vector<std::string>> cmd;
    // Replaces the image's Entrypoint and, like `docker run --entrypoint`,
    // drops the image's Cmd; an empty vector clears the entrypoint.
    std::optional<std::vector<std::string>> entrypoint;
    // "KEY=VALUE" set or replaced after the image's Env; "KEY" alone removes it.
    std::vector<std::string> env;
    std::optional<std::string> user;    // "user[:group]", replaces Config.User
    std::optional<std::string> workdir; // replaces Config.WorkingDir
    std::string hostname;               // also HOSTNAME in the environment
    bool terminal = false;              // also TERM=xterm
    bool readonly_rootfs = false;
    std::vector<std::string> cap_add;   // names as normalize_capability takes, or "ALL"
    std::vector<std::string> cap_drop;
    enum class Seccomp { docker_default, unconfined, profile } seccomp = Seccomp::docker_default;
    std::string seccomp_profile; // JSON text for Seccomp::profile (Docker's or the OCI form)
    bool no_new_privileges = false;
    std::string root_path = "rootfs"; // root.path in config.json
};

// The capability set after --cap-add/--cap-drop, Docker's rules: drop "ALL"
// starts from nothing, add "ALL" gives every capability, else default + add - drop.
std::vector<std::string> effective_capabilities(const SpecOptions& options);

// Builds the runtime spec. `rootfd` is the bundle's rootfs (for users and
// groups); the result's process, root, mounts, annotations and linux parts are
// complete. Throws ErrorKind::invalid when there is no command to run,
// not_found for an unknown user or group.
oci::Spec make_runtime_spec(const oci::ImageConfig& image, const SpecOptions& options, int rootfd);

} // namespace ctk::image
