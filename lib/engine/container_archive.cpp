#include "engine/container_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/image_verbs.hpp"
#include "engine/plan.hpp"
#include "engine/timefmt.hpp"
#include "engine/tools.hpp"

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

std::string container_bundle(const Engine& e, const ContainerRecord& r) {
    std::string b = r.ctk().value("Bundle", "");
    return b.empty() ? e.paths().container(r.id) + "/bundle" : b;
}

Json container_changes(Engine& e, const std::string& ref) {
    ContainerRecord r = e.containers().lookup(ref);
    Plan p = e.new_plan("ctl diff " + ref);
    Step s = run_step(tools::pack_diff(container_bundle(e, r)), "the container's changes to its image");
    s.keep_output = "out";
    p.add(s);
    Json out = pack_answer(e.run_plan(p), "img-pack diff output");
    return out.is_array() ? out : Json::array();
}

std::string render_changes(const Json& changes) {
    std::string out;
    for (const auto& c : changes) {
        int kind = c.value("Kind", 0);
        out += std::string(1, "CAD"[kind >= 0 && kind <= 2 ? kind : 0]) + " " + c.value("Path", "") + "\n";
    }
    return out;
}

std::vector<std::string> export_argv(const Engine& e, const ContainerRecord& r, const std::string& output) {
    return tools::pack_export(container_bundle(e, r) + "/rootfs", output);
}

void export_container(Engine& e, const std::string& ref, const std::string& output) {
    ContainerRecord r = e.containers().lookup(ref);
    Plan p = e.new_plan("ctl export " + ref);
    Step s = run_step(export_argv(e, r, output), "the container's root filesystem as a tar");
    s.show_output = output.empty(); // the tar goes to our stdout
    p.add(s);
    e.execute(p);
}

} // namespace ctk::engine
