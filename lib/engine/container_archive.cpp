#include "engine/container_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/timefmt.hpp"

namespace ctk::engine {

Json PathStat::to_json() const {
    return Json{{"name", name}, {"size", size}, {"mode", mode}, {"mtime", mtime}, {"linkTarget", link_target}};
}

uint32_t go_file_mode(uint32_t m) {
    uint32_t out = m & 0777;
    switch (m & S_IFMT) {
    case S_IFDIR: out |= 1u << 31; break;
    case S_IFLNK: out |= 1u << 27; break;
    case S_IFIFO: out |= 1u << 25; break;
    case S_IFSOCK: out |= 1u << 24; break;
    case S_IFBLK: out |= 1u << 26; break;
    case S_IFCHR: out |= (1u << 26) | (1u << 21); break;
    default: break;
    }
    if (m & S_ISUID) out |= 1u << 23;
    if (m & S_ISGID) out |= 1u << 22;
    if (m & S_ISVTX) out |= 1u << 20;
    return out;
}

namespace {

// "/a/b/" -> {"/a", "b"}; "/" -> {"/", ""}
std::pair<std::string, std::string> parent_and_name(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p.empty() || p == "/") return {"/", ""};
    auto slash = p.rfind('/');
    if (slash == std::string::npos) return {"/", p};
    return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

} // namespace

PathStat stat_in_root(int root_fd, const std::string& path) {
    auto [parent, name] = parent_and_name(path.empty() ? "/" : path);
    PathStat ps;
    struct stat st;
    UniqueFd pfd = try_open_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
    bool ok;
    if (name.empty()) ok = pfd && ::fstat(pfd.get(), &st) == 0;
    else ok = pfd && ::fstatat(pfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!ok) throw_not_found("no such file or directory: " + path);
    ps.name = name.empty() ? "/" : name;
    ps.size = st.st_size;
    ps.mode = go_file_mode(st.st_mode);
    ps.mtime = format_rfc3339_nano(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(pfd.get(), name.c_str(), target, sizeof target - 1);
        if (n > 0) ps.link_target.assign(target, static_cast<size_t>(n));
    }
    return ps;
}

} // namespace ctk::engine
