#include "container/rootfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/mount.hpp"

namespace ctk::container {

namespace {

std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    for (auto& c : split(path, '/'))
        if (!c.empty() && c != ".") out.push_back(std::move(c));
    return out;
}

std::string clean(const std::string& path) {
    std::vector<std::string> out;
    for (const auto& c : components(path)) {
        if (c == "..") {
            if (!out.empty()) out.pop_back();
        } else {
            out.push_back(c);
        }
    }
    return "/" + join(out, "/");
}

enum class Kind { dir, file };

// In-root, and no symlink anywhere on the way (errno ELOOP when there is one).
UniqueFd open_without_symlinks(int rootfd, const std::string& path, int flags) {
    open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
        fd = ::syscall(SYS_openat2, rootfd, path.c_str(), &how, sizeof how);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return UniqueFd(static_cast<int>(fd));
}

// In-root resolution that creates what is missing: symlinks are followed as
// if the rootfs were "/", each step is opened O_NOFOLLOW from the one before,
// so a component swapped for a symlink in between makes it fail, never escape.
UniqueFd make_in_root(int rootfd, const std::string& path, Kind kind, mode_t mode) {
    int flags = O_PATH | (kind == Kind::dir ? O_DIRECTORY : 0);
    if (UniqueFd fd = try_open_in_root(rootfd, path, flags)) return fd;
    if (errno != ENOENT) throw_errno("open", path);

    std::vector<std::string> todo = components(path);
    std::vector<UniqueFd> stack;
    stack.emplace_back(::fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
    int links = 0;
    size_t i = 0;
    while (i < todo.size()) {
        std::string c = todo[i];
        bool last = i + 1 == todo.size();
        i++;
        if (c == "..") {
            if (stack.size() > 1) stack.pop_back();
            continue;
        }
        int cur = stack.back().get();
        struct stat st {};
        if (::fstatat(cur, c.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT) throw_errno("stat", path);
            if (!last || kind == Kind::dir) {
                if (::mkdirat(cur, c.c_str(), mode) < 0 && errno != EEXIST) throw_errno("mkdir", path);
            } else {
                int f = ::openat(cur, c.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
                if (f < 0 && errno != EEXIST) throw_errno("create", path);
                if (f >= 0) ::close(f);
            }
            i--; // look at it again
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++links > 40) throw_errno("resolve", path, ELOOP);
            char buf[4096];
            ssize_t n = ::readlinkat(cur, c.c_str(), buf, sizeof buf - 1);
            if (n < 0) throw_errno("readlink", path);
            std::string target(buf, static_cast<size_t>(n));
            std::vector<std::string> rest = components(target);
            rest.insert(rest.end(), todo.begin() + static_cast<long>(i), todo.end());
            todo = std::move(rest);
            i = 0;
            if (!target.empty() && target[0] == '/') stack.resize(1);
            continue;
        }
        if (!last && !S_ISDIR(st.st_mode)) throw_errno("open", path, ENOTDIR);
        int f = ::openat(cur, c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
        if (f < 0) throw_errno("open", path);
        stack.emplace_back(f);
    }
    if (stack.size() == 1) return UniqueFd(::fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
    return std::move(stack.back());
}

std::string readlink_fd(int fd) {
    char buf[4096];
    ssize_t n = ::readlink(fd_path(fd).c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlink", fd_path(fd));
    return std::string(buf, static_cast<size_t>(n));
}

// The fd's place inside the rootfs ("/proc"), or a throw when it is outside:
// the last check before anything is mounted on it.
std::string place_in_root(int fd, const std::string& rootfs, const std::string& what) {
    std::string p = readlink_fd(fd);
    if (p == rootfs) return "/";
    if (p.size() > rootfs.size() && p.compare(0, rootfs.size(), rootfs) == 0 && p[rootfs.size()] == '/')
        return p.substr(rootfs.size());
    throw Error("mount destination " + quote(what) + " resolves outside the rootfs (to " + quote(p) + ")",
                ErrorKind::invalid);
}

bool is_fs(int fd, long magic) {
    struct statfs st {};
    return ::fstatfs(fd, &st) == 0 && st.f_type == magic;
}

bool path_is_fs(const std::string& path, long magic) {
    struct statfs st {};
    return ::statfs(path.c_str(), &st) == 0 && st.f_type == magic;
}

// runc's list of /proc entries that may be covered (lxcfs emulates them).
constexpr const char* proc_overridable[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",     "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

void check_proc_destination(const std::string& place, const oci::Mount& m) {
    if (place != "/proc" && place.rfind("/proc/", 0) != 0) return;
    if (place == "/proc") {
        if (m.type == "proc") return;
        if (!m.source.empty() && path_is_fs(m.source, PROC_SUPER_MAGIC)) return;
        throw Error("mount on /proc: only procfs may be mounted there (source " + quote(m.source) + ")",
                    ErrorKind::invalid);
    }
    for (const char* ok : proc_overridable)
        if (place == ok) return;
    throw Error("mount on " + quote(place) + ": paths inside /proc cannot be mount targets",
                ErrorKind::invalid);
}

void mount_at(const std::string& source, int target, const std::string& type, unsigned long flags,
              const std::string& data, const std::string& what) {
    if (::mount(source.c_str(), fd_path(target).c_str(), type.empty() ? nullptr : type.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) < 0) {
        int err = errno;
        throw_errno("mount " + (type.empty() ? std::string() : type + " ") + quote(source) + " on", what, err);
    }
}

// The mount now sitting on `target` (reopened so the fd is its root).
UniqueFd reopen(int rootfd, const std::string& dest) { return open_in_root(rootfd, dest, O_PATH); }

void apply_propagation(int fd, const linux::MountOptions& o, const std::string& what) {
    for (unsigned long p : o.propagation)
        if (::mount(nullptr, fd_path(fd).c_str(), nullptr, p, nullptr) < 0)
            throw_errno("set propagation of", what);
}

std::string bind_source(const oci::Mount& m, const std::string& bundle) {
    if (m.source.empty()) throw_invalid("bind mount on " + quote(m.destination) + " has no source");
    if (m.source[0] == '/') return m.source;
    return bundle + "/" + m.source;
}

void bind_mount(int rootfd, const oci::Mount& m, const linux::MountOptions& o, const RootfsPlan& plan) {
    std::string src = bind_source(m, plan.bundle);
    struct stat st {};
    if (::stat(src.c_str(), &st) < 0) throw_errno("bind mount source", src);
    UniqueFd target = make_in_root(rootfd, m.destination, S_ISDIR(st.st_mode) ? Kind::dir : Kind::file, 0755);
    std::string place = place_in_root(target.get(), plan.rootfs, m.destination);
    check_proc_destination(place, m);
    UniqueFd tree = linux::open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | (o.rbind() ? AT_RECURSIVE : 0));
    // ro, nosuid, ... apply to the top mount (as MS_REMOUNT would); the
    // r-prefixed ones ("rro") to the whole tree.
    linux::mount_setattr(tree.get(), o.attr(), false, m.destination);
    linux::mount_setattr(tree.get(), o.recursive, true, m.destination);
    linux::move_mount(tree.get(), target.get(), m.destination);
    if (!o.propagation.empty()) {
        UniqueFd now = reopen(rootfd, m.destination);
        apply_propagation(now.get(), o, m.destination);
    }
}

void mount_cgroup(int rootfd, const oci::Mount& m, const linux::MountOptions& o, const RootfsPlan& plan) {
    UniqueFd target = make_in_root(rootfd, m.destination, Kind::dir, 0755);
    place_in_root(target.get(), plan.rootfs, m.destination);
    unsigned long common = o.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME | MS_STRICTATIME);
    linux::MountAttr attr = o.attr();
    linux::MountOptions shared;
    shared.flags = common;
    attr.set |= shared.attr().set;
    const auto* cg = plan.cgroup;
    auto bind_dir = [&](const linux::cgroup::Cgroup::Dir& d, int onto, const std::string& what) {
        UniqueFd tree = linux::open_tree(AT_FDCWD, d.dir(), OPEN_TREE_CLONE);
        linux::mount_setattr(tree.get(), attr, false, what);
        linux::move_mount(tree.get(), onto, what);
    };
    if (!cg || cg->empty()) {
        // No cgroup of its own: an empty read-only tmpfs keeps the host's hidden.
        mount_at("cgroup", target.get(), "tmpfs", common | MS_RDONLY, "size=4k,mode=755", m.destination);
        return;
    }
    if (cg->mode() == linux::cgroup::Mode::v2) {
        bind_dir(cg->dirs().front(), target.get(), m.destination);
        return;
    }
    // v1 and hybrid: a tmpfs with one directory per hierarchy, each the
    // container's own cgroup bound from the host.
    mount_at("cgroup", target.get(), "tmpfs", common, "mode=755", m.destination);
    UniqueFd top = reopen(rootfd, m.destination);
    for (const auto& d : cg->dirs()) {
        std::string name = d.mount_point.substr(d.mount_point.rfind('/') + 1);
        std::string dest = clean(m.destination) + "/" + name;
        UniqueFd sub = make_in_root(rootfd, dest, Kind::dir, 0755);
        bind_dir(d, sub.get(), dest);
    }
    if (o.flags & MS_RDONLY) linux::mount_setattr(top.get(), {MOUNT_ATTR_RDONLY, 0, 0}, false, m.destination);
}

void mount_one(int rootfd, const oci::Mount& m, const RootfsPlan& plan, const Warn& warn) {
    linux::MountOptions o = linux::parse_mount_options(m.options);
    for (const auto& u : o.unknown) warn("mount " + quote(m.destination) + ": option " + quote(u) + " is not supported: ignored");
    if (m.type == "bind" || o.bind()) {
        bind_mount(rootfd, m, o, plan);
        return;
    }
    if (m.type == "cgroup" || m.type == "cgroup2") {
        mount_cgroup(rootfd, m, o, plan);
        return;
    }
    UniqueFd target;
    if (m.type == "proc" || m.type == "sysfs") {
        // CVE-2019-16884: procfs and sysfs go on an ordinary directory of the
        // rootfs, never through a symlink.
        target = open_without_symlinks(rootfd, m.destination, O_PATH | O_DIRECTORY);
        if (!target) {
            if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
                throw Error("mount " + m.type + " on " + quote(m.destination) +
                                ": the destination must be an ordinary directory, not a symlink",
                            ErrorKind::invalid);
            if (errno != ENOENT) throw_errno("open", m.destination);
            make_in_root(rootfd, m.destination, Kind::dir, 0755);
            target = open_in_root(rootfd, m.destination, O_PATH | O_DIRECTORY);
        }
        std::string place = place_in_root(target.get(), plan.rootfs, m.destination);
        if (m.type == "proc" && place != "/proc")
            throw Error("procfs may only be mounted on /proc, not " + quote(place), ErrorKind::invalid);
    } else {
        target = make_in_root(rootfd, m.destination, Kind::dir, 0755);
        check_proc_destination(place_in_root(target.get(), plan.rootfs, m.destination), m);
    }
    std::string data = o.data_string();
    unsigned long flags = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    try {
        mount_at(m.source.empty() ? m.type : m.source, target.get(), m.type, flags, data, m.destination);
    } catch (const Error& e) {
        // sysfs cannot be mounted from a user namespace that does not own the
        // network namespace: bind the host's instead (as runc does).
        if (m.type != "sysfs" || e.error_number() != EPERM || !plan.user_namespace) throw;
        UniqueFd tree = linux::open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | AT_RECURSIVE);
        linux::mount_setattr(tree.get(), o.attr(), false, m.destination);
        linux::move_mount(tree.get(), target.get(), m.destination);
    }
    if (!o.propagation.empty() || !o.recursive.empty()) {
        UniqueFd now = reopen(rootfd, m.destination);
        apply_propagation(now.get(), o, m.destination);
        linux::mount_setattr(now.get(), o.recursive, true, m.destination);
    }
}

struct DefaultDevice {
    const char* path;
    unsigned major, minor;
};
constexpr DefaultDevice default_devices[] = {
    {"/dev/null", 1, 3}, {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

void make_device(int rootfd, const oci::Device& d, bool user_namespace) {
    std::string path = clean(d.path);
    if (path.rfind("/dev/", 0) != 0) throw_invalid("device " + quote(d.path) + " is not under /dev");
    mode_t type;
    if (d.type == "c" || d.type == "u") type = S_IFCHR;
    else if (d.type == "b") type = S_IFBLK;
    else if (d.type == "p") type = S_IFIFO;
    else throw_invalid("device " + quote(d.path) + ": unknown type " + quote(d.type));
    auto slash = path.rfind('/');
    UniqueFd dir = make_in_root(rootfd, path.substr(0, slash), Kind::dir, 0755);
    std::string name = path.substr(slash + 1);
    if (user_namespace && type != S_IFIFO) {
        // mknod is not allowed in a user namespace: bind the host's node.
        UniqueFd target = make_in_root(rootfd, path, Kind::file, 0644);
        UniqueFd tree = linux::open_tree(AT_FDCWD, path, OPEN_TREE_CLONE);
        linux::move_mount(tree.get(), target.get(), path);
        return;
    }
    mode_t mode = d.file_mode.value_or(0666) & 07777;
    if (::unlinkat(dir.get(), name.c_str(), 0) < 0 && errno != ENOENT && errno != EISDIR)
        throw_errno("replace", path);
    if (::mknodat(dir.get(), name.c_str(), type | mode,
                  makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) < 0)
        throw_errno("mknod", path);
    uid_t uid = d.uid.value_or(0);
    gid_t gid = d.gid.value_or(0);
    if (::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("chown", path);
    if (::fchmodat(dir.get(), name.c_str(), mode, 0) < 0) throw_errno("chmod", path);
}

void setup_dev(int rootfd, const RootfsPlan& plan) {
    const oci::Spec& spec = *plan.spec;
    bool dev_is_bind = false;
    for (const auto& m : spec.mounts)
        if (clean(m.destination) == "/dev" && (m.type == "bind" || linux::parse_mount_options(m.options).bind()))
            dev_is_bind = true;
    if (dev_is_bind) return;
    std::vector<oci::Device> devices;
    if (spec.linux) devices = spec.linux->devices;
    for (const auto& dd : default_devices) {
        bool listed = false;
        for (const auto& d : devices) listed |= clean(d.path) == dd.path;
        if (listed) continue;
        oci::Device d;
        d.type = "c";
        d.path = dd.path;
        d.major = dd.major;
        d.minor = dd.minor;
        d.file_mode = 0666;
        devices.push_back(d);
    }
    for (const auto& d : devices) make_device(rootfd, d, plan.user_namespace);
    UniqueFd dev = make_in_root(rootfd, "/dev", Kind::dir, 0755);
    const std::pair<const char*, const char*> links[] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}};
    for (const auto& [target, name] : links)
        if (::symlinkat(target, dev.get(), name) < 0 && errno != EEXIST) throw_errno("symlink", std::string("/dev/") + name);
    if (::access("/proc/kcore", F_OK) == 0)
        if (::symlinkat("/proc/kcore", dev.get(), "core") < 0 && errno != EEXIST) throw_errno("symlink", "/dev/core");
    // /dev/ptmx is the container's devpts' own ptmx.
    struct stat st {};
    if (::fstatat(dev.get(), "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (::unlinkat(dev.get(), "ptmx", 0) < 0 && errno != ENOENT) throw_errno("replace", "/dev/ptmx");
        if (::symlinkat("pts/ptmx", dev.get(), "ptmx") < 0) throw_errno("symlink", "/dev/ptmx");
    }
}

unsigned long propagation_flag(const std::string& p) {
    if (p.empty() || p == "private" || p == "rprivate") return MS_PRIVATE;
    if (p == "slave" || p == "rslave") return MS_SLAVE;
    if (p == "shared" || p == "rshared") return MS_SHARED;
    if (p == "unbindable" || p == "runbindable") return MS_UNBINDABLE;
    throw_invalid("rootfsPropagation " + quote(p) + " is not a propagation type");
}

} // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

UniqueFd make_dirs_in_root(int rootfd, const std::string& path, mode_t mode) {
    return make_in_root(rootfd, path, Kind::dir, mode);
}

UniqueFd make_file_in_root(int rootfd, const std::string& path, mode_t mode) {
    return make_in_root(rootfd, path, Kind::file, mode);
}

UniqueFd prepare_rootfs(const RootfsPlan& plan) {
    const oci::Spec& spec = *plan.spec;
    std::string prop = spec.linux ? spec.linux->rootfs_propagation : "";
    unsigned long pflag = propagation_flag(prop);
    if (::mount(nullptr, "/", nullptr, MS_REC | pflag, nullptr) < 0) throw_errno("set propagation of", "/");
    if (pflag == MS_SHARED) {
        // pivot_root refuses a new root whose parent mount is shared: make the
        // mount holding the rootfs private (only in this namespace).
        std::string best = "/";
        for (const auto& mi : linux::read_mountinfo())
            if (plan.rootfs.rfind(mi.mount_point, 0) == 0 && mi.mount_point.size() > best.size() &&
                (plan.rootfs.size() == mi.mount_point.size() || plan.rootfs[mi.mount_point.size()] == '/'))
                best = mi.mount_point;
        ::mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr);
    }
    linux::mount(plan.rootfs, plan.rootfs, "", MS_BIND | MS_REC);
    if (pflag == MS_SHARED && ::mount(nullptr, plan.rootfs.c_str(), nullptr, MS_SHARED | MS_REC, nullptr) < 0)
        throw_errno("set propagation of", plan.rootfs);
    UniqueFd root = open_path(plan.rootfs, O_PATH | O_DIRECTORY);

    Warn warn = [](const std::string& msg) {
        std::string line = "ns-run: warning: " + msg + "\n";
        ssize_t n = ::write(2, line.data(), line.size());
        (void)n;
    };
    for (const auto& m : spec.mounts) {
        try {
            mount_one(root.get(), m, plan, warn);
        } catch (const Error& e) {
            if (std::string_view(e.what()).find(m.destination) != std::string_view::npos) throw;
            throw e.wrap("mount " + quote(m.destination));
        }
    }
    setup_dev(root.get(), plan);
    if (!plan.cwd.empty() && plan.cwd != "/") {
        try {
            make_in_root(root.get(), plan.cwd, Kind::dir, 0755);
        } catch (const Error& e) {
            throw e.wrap("process.cwd " + quote(plan.cwd));
        }
    }
    return root;
}

void protect_paths(int rootfd, const oci::Spec& spec) {
    if (!spec.linux) return;
    const auto& lx = *spec.linux;
    if (!lx.masked_paths.empty()) {
        // CVE-2025-31133: the /dev/null bound over masked files must be the
        // real device, checked through the very fd that is then bound.
        UniqueFd null;
        auto devnull = [&]() -> int {
            if (null) return null.get();
            null = open_without_symlinks(rootfd, "/dev/null", O_PATH | O_NOFOLLOW);
            struct stat st {};
            if (!null || ::fstat(null.get(), &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 ||
                minor(st.st_rdev) != 3)
                throw Error("/dev/null in the container is not the null device (1:3); refusing to mask "
                            "paths with it",
                            ErrorKind::invalid);
            return null.get();
        };
        for (const auto& p : lx.masked_paths) {
            UniqueFd target = try_open_in_root(rootfd, p, O_PATH | O_NOFOLLOW);
            if (!target) {
                if (errno == ENOENT) continue;
                throw_errno("open masked path", p);
            }
            struct stat st {};
            if (::fstat(target.get(), &st) < 0) throw_errno("stat masked path", p);
            if (S_ISDIR(st.st_mode)) {
                mount_at("tmpfs", target.get(), "tmpfs", MS_RDONLY, "size=0k,nr_inodes=1", p);
            } else {
                UniqueFd tree = linux::open_tree(devnull(), "", OPEN_TREE_CLONE | AT_EMPTY_PATH);
                linux::move_mount(tree.get(), target.get(), p);
            }
        }
    }
    for (const auto& p : lx.readonly_paths) {
        UniqueFd target = try_open_in_root(rootfd, p, O_PATH | O_NOFOLLOW);
        if (!target) {
            if (errno == ENOENT) continue;
            throw_errno("open read-only path", p);
        }
        UniqueFd tree = linux::open_tree(target.get(), "", OPEN_TREE_CLONE | AT_RECURSIVE | AT_EMPTY_PATH);
        linux::mount_setattr(tree.get(), {MOUNT_ATTR_RDONLY, 0, 0}, true, p);
        linux::move_mount(tree.get(), target.get(), p);
    }
}

void pivot_into(int rootfd, bool propagate_private) {
    if (::fchdir(rootfd) < 0) throw_errno("chdir into the rootfs");
    if (::syscall(SYS_pivot_root, ".", ".") < 0) throw_errno("pivot_root");
    // The old root now sits under "."; make sure detaching it cannot
    // propagate to the host, then drop it.
    if (!propagate_private && ::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
        throw_errno("make the old root a slave");
    if (::umount2(".", MNT_DETACH) < 0) throw_errno("detach the old root");
    if (::chdir("/") < 0) throw_errno("chdir", "/");
}

// --no-pivot (runc's msMoveRoot): for a rootfs pivot_root refuses (ramfs,
// an initramfs root). The mounts outside the rootfs are detached first, as
// far as they can be, so that the chroot cannot be climbed out of into them;
// then the rootfs is moved over / and chrooted into.
void move_root_into(int rootfd, const std::string& rootfs) {
    std::vector<std::string> others;
    if (auto info = read_file_if_exists("/proc/self/mountinfo", 16u << 20)) {
        for (const auto& line : split(*info, '\n')) {
            auto fields = split(line, ' ');
            if (fields.size() < 5) continue;
            const std::string& point = fields[4];
            bool inside = point == rootfs || point.rfind(rootfs + "/", 0) == 0;
            bool above = point == "/" || rootfs.rfind(point + "/", 0) == 0;
            if (!inside && !above) others.push_back(point);
        }
    }
    // deepest first, so that a parent is not busy with its children
    std::sort(others.begin(), others.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& point : others) ::umount2(point.c_str(), MNT_DETACH);
    if (::fchdir(rootfd) < 0) throw_errno("chdir into the rootfs");
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) throw_errno("move the rootfs to /");
    if (::chroot(".") < 0) throw_errno("chroot into the rootfs");
    if (::chdir("/") < 0) throw_errno("chdir", "/");
}

void finish_rootfs(const oci::Spec& spec) {
    if (spec.root && spec.root->readonly) {
        UniqueFd root = open_path("/", O_PATH | O_DIRECTORY);
        linux::mount_setattr(root.get(), {MOUNT_ATTR_RDONLY, 0, 0}, false, "/");
    }
}

void check_sysctl(const std::string& key, const oci::Spec& spec) {
    auto has = [&](const char* ns) {
        if (!spec.linux) return false;
        for (const auto& n : spec.linux->namespaces)
            if (n.type == ns) return true;
        return false;
    };
    std::string k = key;
    for (char& c : k)
        if (c == '/') c = '.';
    auto starts = [&](const char* p) { return k.rfind(p, 0) == 0; };
    bool ok = false;
    const char* need = nullptr;
    if (k == "kernel.msgmax" || k == "kernel.msgmnb" || k == "kernel.msgmni" || k == "kernel.sem" ||
        k == "kernel.shmall" || k == "kernel.shmmax" || k == "kernel.shmmni" || k == "kernel.shm_rmid_forced" ||
        starts("fs.mqueue.")) {
        need = "ipc";
        ok = has("ipc");
    } else if (starts("net.")) {
        need = "network";
        ok = has("network");
    } else if (k == "kernel.hostname" || k == "kernel.domainname") {
        need = "uts";
        ok = has("uts");
    }
    if (!need) throw_invalid("sysctl " + quote(key) + " is not namespaced: a container may not set it");
    if (!ok)
        throw_invalid("sysctl " + quote(key) + " needs the container's own " + need + " namespace");
    if (k.find("..") != std::string::npos) throw_invalid("sysctl " + quote(key) + " is not a sysctl name");
}

void apply_sysctls(const oci::Spec& spec) {
    if (!spec.linux) return;
    for (const auto& [key, value] : spec.linux->sysctl) {
        std::string rel = key;
        if (rel.find('/') == std::string::npos)
            for (char& c : rel)
                if (c == '.') c = '/';
        std::string path = "/proc/sys/" + rel;
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) throw_errno("open sysctl", key);
        if (!is_fs(fd.get(), PROC_SUPER_MAGIC)) throw Error("sysctl " + quote(key) + ": not on procfs", ErrorKind::failed);
        if (::write(fd.get(), value.data(), value.size()) < 0) throw_errno("write sysctl", key);
    }
}

} // namespace ctk::container
