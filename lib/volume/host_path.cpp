#include "volume/host_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/strings.hpp"
#include "linux/mount.hpp"
#include "volume/spec.hpp"

namespace ctk::volume {

static std::string fd_path(int fd) {
    char buf[4096];
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlink", link);
    return std::string(buf, static_cast<size_t>(n));
}

HostPath resolve_host_path(const std::string& raw, bool create) {
    if (raw.empty() || raw.front() != '/')
        throw_invalid("invalid mount path: '" + raw + "' mount path must be absolute");
    std::string path = clean_path(raw);
    HostPath out;
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) throw_errno("open bind source", path);
    if (fd < 0 && !create) throw_not_found("bind source path does not exist: " + path);
    UniqueFd cur(fd);
    if (!cur) {
        cur = UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!cur) throw_errno("open", "/");
        std::string shown;
        for (const auto& comp : split(path, '/')) {
            if (comp.empty()) continue;
            shown += "/" + comp;
            int next = ::openat(cur.get(), comp.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (next < 0 && errno == ENOENT) {
                if (::mkdirat(cur.get(), comp.c_str(), 0755) < 0 && errno != EEXIST) {
                    int err = errno;
                    remove_created(out);
                    throw_errno("mkdir bind source", shown, err);
                }
                next = ::openat(cur.get(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next >= 0) out.created.push_back(fd_path(next));
            }
            if (next < 0) {
                int err = errno;
                remove_created(out);
                throw_errno("open bind source", shown, err);
            }
            cur = UniqueFd(next);
        }
    }
    struct stat st;
    if (::fstat(cur.get(), &st) < 0) throw_errno("stat", path);
    out.is_dir = S_ISDIR(st.st_mode);
    out.path = fd_path(cur.get());
    return out;
}

void remove_created(const HostPath& p) noexcept {
    for (auto it = p.created.rbegin(); it != p.created.rend(); ++it) ::rmdir(it->c_str());
}

std::string mount_propagation_of(const std::string& path) {
    const linux::MountInfo* best = nullptr;
    auto table = linux::read_mountinfo();
    for (const auto& m : table) {
        const std::string& mp = m.mount_point;
        bool under = path == mp || mp == "/" ||
                     (path.size() > mp.size() && path.compare(0, mp.size(), mp) == 0 && path[mp.size()] == '/');
        // Later entries are mounted over earlier ones at the same place.
        if (under && (!best || mp.size() >= best->mount_point.size())) best = &m;
    }
    if (!best) return "private";
    if (best->optional.find("shared:") != std::string::npos) return "shared";
    if (best->optional.find("master:") != std::string::npos) return "slave";
    return "private";
}

void check_source_propagation(const std::string& path, const std::string& propagation) {
    if (propagation != "shared" && propagation != "rshared" && propagation != "slave" &&
        propagation != "rslave")
        return;
    std::string have = mount_propagation_of(path);
    bool want_shared = propagation == "shared" || propagation == "rshared";
    if (want_shared && have != "shared")
        throw_invalid("bind source " + path + " is on a mount that is not shared (needed for " +
                      propagation + ")");
    if (!want_shared && have == "private")
        throw_invalid("bind source " + path + " is on a mount that is neither shared nor slave (needed for " +
                      propagation + ")");
}

} // namespace ctk::volume
