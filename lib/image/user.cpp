#include "image/user.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"

namespace ctk::image {

namespace {

std::optional<uint32_t> parse_id(std::string_view s) {
    auto v = parse_uint(s);
    if (!v || *v > 0xfffffffeu) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

std::vector<std::vector<std::string>> records(std::string_view text) {
    std::vector<std::vector<std::string>> out;
    for (const auto& line : split(text, '\n')) {
        std::string_view l = trim(line);
        if (l.empty() || l[0] == '#') continue;
        out.push_back(split(l, ':'));
    }
    return out;
}

// Reads a small regular file inside the rootfs; nullopt when it does not exist.
std::optional<std::string> read_in_root(int rootfd, const char* path) {
    // O_NONBLOCK: a FIFO planted at /etc/passwd must not hang the unpack.
    UniqueFd fd = try_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK);
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw_errno("open", path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) throw_errno("stat", path);
    if (!S_ISREG(st.st_mode)) throw_invalid(std::string("image's ") + path + " is not a regular file");
    try {
        return read_fd(fd.get(), 16u << 20);
    } catch (const Error& e) {
        throw e.wrap(std::string("image's ") + path);
    }
}

} // namespace

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
    std::vector<PasswdEntry> out;
    for (const auto& f : records(text)) {
        if (f.size() < 4 || f[0].empty()) continue;
        auto uid = parse_id(f[2]), gid = parse_id(f[3]);
        if (!uid || !gid) continue;
        PasswdEntry e{f[0], *uid, *gid, f.size() > 5 ? f[5] : "", f.size() > 6 ? f[6] : ""};
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
    std::vector<GroupEntry> out;
    for (const auto& f : records(text)) {
        if (f.size() < 3 || f[0].empty()) continue;
        auto gid = parse_id(f[2]);
        if (!gid) continue;
        GroupEntry g{f[0], *gid, {}};
        if (f.size() > 3)
            for (const auto& m : split(f[3], ','))
                if (!trim(m).empty()) g.members.emplace_back(trim(m));
        out.push_back(std::move(g));
    }
    return out;
}

ResolvedUser resolve_user(std::string_view spec, const std::vector<PasswdEntry>& passwd,
                          const std::vector<GroupEntry>& groups) {
    std::string user(spec), group;
    bool has_group = false;
    if (auto parts = split_once(spec, ':')) {
        user = parts->first;
        group = parts->second;
        has_group = true;
    }
    if (user.empty()) user = "0";
    // runc's libcontainer/user: a numeric id must be in 0..2^31-1 (ErrRange)
    for (const auto& id : {user, group})
        if (auto v = parse_uint(id); v && *v > 2147483647u)
            throw_invalid("invalid user " + quote(spec) + ": uids and gids must be in range 0-2147483647");
    ResolvedUser r;
    auto uid = parse_id(user);
    const PasswdEntry* found = nullptr;
    for (const auto& e : passwd) {
        if (e.name == user || (uid && e.uid == *uid)) {
            found = &e;
            break;
        }
    }
    if (found) {
        r.uid = found->uid;
        r.gid = found->gid;
        r.name = found->name;
        if (!found->home.empty()) r.home = found->home;
    } else if (uid) {
        r.uid = *uid;
        r.gid = 0;
    } else {
        throw_not_found("user " + quote(user) + " not found in the image's /etc/passwd");
    }
    if (has_group && !group.empty()) {
        auto gid = parse_id(group);
        const GroupEntry* g = nullptr;
        for (const auto& e : groups)
            if (e.name == group || (gid && e.gid == *gid)) {
                g = &e;
                break;
            }
        if (g)
            r.gid = g->gid;
        else if (gid)
            r.gid = *gid;
        else
            throw_not_found("group " + quote(group) + " not found in the image's /etc/group");
    } else if (found && !uid) {
        for (const auto& g : groups)
            for (const auto& m : g.members)
                if (m == found->name && g.gid != r.gid) {
                    r.additional_gids.push_back(g.gid);
                    break;
                }
    }
    return r;
}

ResolvedUser resolve_user_in_root(std::string_view spec, int rootfd) {
    auto passwd = read_in_root(rootfd, "/etc/passwd");
    std::optional<std::string> group;
    if (spec.find(':') != std::string_view::npos || (!spec.empty() && !parse_id(spec))) group = read_in_root(rootfd, "/etc/group");
    return resolve_user(spec, passwd ? parse_passwd(*passwd) : std::vector<PasswdEntry>{},
                        group ? parse_group(*group) : std::vector<GroupEntry>{});
}

} // namespace ctk::image
