#include "linux/namespace.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace ctk::linux {

namespace {
struct NamespaceInfo {
    Namespace ns;
    const char* spec;
    const char* proc;
    uint64_t flag;
};
constexpr NamespaceInfo infos[] = {
    {Namespace::mount, "mount", "mnt", CLONE_NEWNS},
    {Namespace::uts, "uts", "uts", CLONE_NEWUTS},
    {Namespace::ipc, "ipc", "ipc", CLONE_NEWIPC},
    {Namespace::network, "network", "net", CLONE_NEWNET},
    {Namespace::pid, "pid", "pid", CLONE_NEWPID},
    {Namespace::user, "user", "user", CLONE_NEWUSER},
    {Namespace::cgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
    {Namespace::time, "time", "time", CLONE_NEWTIME},
};
const NamespaceInfo& info(Namespace ns) {
    for (const auto& i : infos)
        if (i.ns == ns) return i;
    return infos[0];
}
} // namespace

std::optional<Namespace> parse_namespace(std::string_view name) {
    for (const auto& i : infos)
        if (name == i.spec) return i.ns;
    return std::nullopt;
}
const char* spec_name(Namespace ns) { return info(ns).spec; }
const char* proc_name(Namespace ns) { return info(ns).proc; }
uint64_t clone_flag(Namespace ns) { return info(ns).flag; }

UniqueFd open_namespace(const std::string& path, Namespace ns) {
    UniqueFd fd = open_path(path, O_RDONLY);
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type < 0) {
        if (errno == ENOTTY || errno == EINVAL)
            throw_invalid(std::string(spec_name(ns)) + " namespace " + quote(path) +
                          " is not a namespace file");
        throw_errno("query namespace", path);
    }
    if (static_cast<uint64_t>(type) != clone_flag(ns))
        throw_invalid(std::string(spec_name(ns)) + " namespace " + quote(path) +
                      " is a namespace of another type");
    return fd;
}

void set_namespace(int fd, Namespace ns, const std::string& what) {
    if (::setns(fd, static_cast<int>(clone_flag(ns))) < 0)
        throw_errno(std::string("join ") + spec_name(ns) + " namespace", what);
}

bool same_namespace(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) < 0 || ::stat(b.c_str(), &sb) < 0) return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void write_map(pid_t pid, const char* file, const std::vector<IdMap>& maps) {
    if (maps.empty()) return;
    std::string text;
    for (const auto& m : maps)
        text += std::to_string(m.container_id) + ' ' + std::to_string(m.host_id) + ' ' +
                std::to_string(m.size) + '\n';
    std::string path = "/proc/" + std::to_string(pid) + "/" + file;
    UniqueFd fd = open_path(path, O_WRONLY);
    // The kernel takes the whole map in one write or refuses it.
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw_errno("write", path);
}

void write_id_maps(pid_t pid, const std::vector<IdMap>& uids, const std::vector<IdMap>& gids) {
    write_map(pid, "uid_map", uids);
    write_map(pid, "gid_map", gids);
}

std::optional<uint32_t> map_to_host(const std::vector<IdMap>& maps, uint32_t id) {
    for (const auto& m : maps)
        if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
    return std::nullopt;
}

} // namespace ctk::linux
