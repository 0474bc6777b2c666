// config.json from an image config (OCI image-spec conversion.md), with
// Docker's defaults for everything the image does not say: capabilities,
// mounts, masked and read-only paths, namespaces, device rules, rlimits,
// sysctls and the default seccomp profile; then `docker run`'s HostConfig
// over them (apply_host_config). img-unpack writes it into the bundle.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "oci/capabilities.hpp"
#include "oci/host_config.hpp"
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
    // docker run's HostConfig (the Engine API's shape): limits, capabilities,
    // security options, namespaces, devices; apply_host_config says which fields.
    oci::HostConfig host;
    // ctk's own inputs beside it:
    std::string netns;       // the network namespace to join (a path); "" = a new one
    std::string etc_dir;     // DIR/hostname, DIR/hosts, DIR/resolv.conf bind-mounted on /etc
    std::string cgroup_name; // linux.cgroupsPath = (HostConfig.CgroupParent or "ctk")/NAME; "" = none
    std::string root_path = "rootfs"; // root.path in config.json
};

// The capability set after HostConfig's CapAdd/CapDrop, Docker's rules: drop
// "ALL" starts from nothing, add "ALL" gives every capability, else default + add - drop.
std::vector<std::string> effective_capabilities(const oci::HostConfig& host);

// HostConfig over a spec made from the image, in one place: CapAdd, CapDrop,
// SecurityOpt (no-new-privileges, seccomp=default|unconfined|PROFILE-JSON|FILE),
// ReadonlyRootfs, NetworkMode (host: the host's network and UTS namespaces;
// otherwise options.netns when given), PidMode and IpcMode host, Devices,
// Memory, MemorySwap, NanoCpus, CpuQuota, CpuPeriod, PidsLimit, Ulimits,
// Sysctls, GroupAdd (numeric), CgroupParent; and options.etc_dir's files.
// Binds, Mounts, Tmpfs (vol-mount's), PortBindings, Dns*, ExtraHosts (the
// files' contents), Init and the rest are other tools' and ignored here.
// SecurityOpt's apparmor, label and unknown keys are ignored. invalid for a
// device that is not one or a seccomp profile that cannot be read.
void apply_host_config(oci::Spec& spec, const SpecOptions& options);

// Builds the runtime spec. `rootfd` is the bundle's rootfs (for users and
// groups); the result's process, root, mounts, annotations and linux parts are
// complete. Throws ErrorKind::invalid when there is no command to run,
// not_found for an unknown user or group.
oci::Spec make_runtime_spec(const oci::ImageConfig& image, const SpecOptions& options, int rootfd);

} // namespace ctk::image
