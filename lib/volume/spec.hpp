// The mount forms users know from `docker run`, parsed into one request type:
//
//   -v NAME:/path[:MODE]          named volume            MODE: comma list of
//   -v /path                      anonymous volume          ro|rw, nocopy, z|Z,
//   -v /host:/path[:MODE]         bind mount                [r]shared|[r]slave|[r]private,
//                                                           consistent|cached|delegated
//   --mount type=volume|bind|tmpfs,source=…,target=…,readonly,bind-propagation=…,
//           bind-nonrecursive,volume-nocopy,volume-label=k=v,volume-opt=k=v,
//           volume-driver=local,tmpfs-size=…,tmpfs-mode=…
//   --tmpfs /path[:OPTIONS]       OPTIONS as mount(8): size=64m,mode=1777,uid=…,noexec,…
//
// Grammar and rejects follow Docker's (moby volume/mounts linux parser, the CLI's
// --mount reader): the messages name the spec and the cause in one line, e.g.
//   invalid volume specification: '/a:/b:rw,ro': invalid mode: rw,ro
// SELinux relabelling (z, Z) is accepted and ignored: ctk does no SELinux labelling, as
// Docker on a host without SELinux. Consistency modes are accepted and ignored (macOS only).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace ctk::volume {

enum class MountType { volume, bind, tmpfs };
const char* to_string(MountType t);

struct MountRequest {
    MountType type = MountType::volume;
    // Volume: its name, "" for an anonymous volume. Bind: the host path (absolute, cleaned).
    std::string source;
    std::string target; // absolute, cleaned
    bool readonly = false;
    // Read-only only at the top (--mount bind-recursive=writable): "ro" without "rro".
    bool readonly_nonrecursive = false;
    // Bind: "" (Docker's default, rprivate) or one of [r]private, [r]shared, [r]slave.
    std::string propagation;
    bool nonrecursive = false; // bind: "bind" instead of "rbind"
    // Bind: `-v` creates a missing host directory, `--mount` refuses a missing source.
    bool create_source = false;
    bool nocopy = false; // volume: no copy-up of the image's files
    std::map<std::string, std::string> volume_labels;  // used when the volume is created
    std::map<std::string, std::string> volume_options; // local driver options (type, device, o)
    std::vector<std::string> tmpfs_options;            // as given, merged with Docker's defaults later
    std::string raw;                                   // the spec as the user wrote it
    std::string flag;                                  // "-v", "--mount" or "--tmpfs"
    std::string mode;                                  // -v: the MODE as written ("ro,z")

    // For messages: -v 'data:/x'
    std::string describe() const { return flag + " '" + raw + "'"; }
};

// One docker flag's value each. Throw ErrorKind::invalid with Docker's message.
MountRequest parse_volume_flag(std::string_view raw);
MountRequest parse_mount_flag(std::string_view raw);
MountRequest parse_tmpfs_flag(std::string_view raw);

// The Docker Engine API's forms (ctld): one HostConfig.Mounts entry
// {"Type","Source","Target","ReadOnly","BindOptions":{"Propagation","NonRecursive",
// "CreateMountpoint","ReadOnlyNonRecursive"},"VolumeOptions":{"NoCopy","Labels",
// "DriverConfig":{"Name","Options"}},"TmpfsOptions":{"SizeBytes","Mode"}}, checked as the
// daemon checks it. HostConfig.Binds entries are -v specs, HostConfig.Tmpfs entries
// ("/run": "size=64m") are --tmpfs specs ("/run:size=64m").
MountRequest parse_api_mount(const Json& mount);

// A command line's worth of specs: "-v X", "--volume X", "--volume=X", "-vX", "--mount X",
// "--mount=X", "--tmpfs X", "--tmpfs=X"; a bare word is a -v spec. Rejects two requests for
// one target, as Docker does ("Duplicate mount point: /data").
std::vector<MountRequest> parse_spec_args(const std::vector<std::string>& args);
void check_duplicate_targets(const std::vector<MountRequest>& requests);

// Go's path.Clean: "/a//b/../c/" -> "/a/c".
std::string clean_path(std::string_view p);

// Docker's local driver rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool valid_volume_name(std::string_view name);
void check_volume_name(std::string_view name);
// 64 lowercase hex, as Docker names anonymous volumes.
std::string generate_volume_name();

// The label Docker (23+) puts on anonymous volumes; `prune` without --all removes only these.
inline constexpr const char* anonymous_label = "com.docker.volume.anonymous";

} // namespace ctk::volume
