// Config.User ("user", "uid", "user:group", "uid:gid", ...) resolved through
// the image's own /etc/passwd and /etc/group, read inside the rootfs
// (openat2 RESOLVE_IN_ROOT: an image's /etc/passwd symlink cannot point at
// the host's), as runc's libcontainer/user and OCI conversion.md describe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::image {

struct PasswdEntry {
    std::string name;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string home;
    std::string shell;
};

struct GroupEntry {
    std::string name;
    uint32_t gid = 0;
    std::vector<std::string> members;
};

// Malformed lines are skipped, as libc does.
std::vector<PasswdEntry> parse_passwd(std::string_view text);
std::vector<GroupEntry> parse_group(std::string_view text);

struct ResolvedUser {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::vector<uint32_t> additional_gids; // groups that list the user, for a named user without a group
    std::string home = "/";
    std::string name; // "" when the uid has no passwd entry
};

// Resolves `spec` ("" means root) against the given files' contents.
// A name that is not found is ErrorKind::not_found; conversion.md: "If
// Config.User does not correspond to a user in the container's context, the
// converter MUST return an error."
ResolvedUser resolve_user(std::string_view spec, const std::vector<PasswdEntry>& passwd,
                          const std::vector<GroupEntry>& groups);
// The same, reading /etc/passwd and /etc/group inside the rootfs directory fd.
ResolvedUser resolve_user_in_root(std::string_view spec, int rootfd);

} // namespace ctk::image
