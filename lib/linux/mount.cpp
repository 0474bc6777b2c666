#include "linux/mount.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/strings.hpp"

namespace ctk::linux {

void mount(const std::string& source, const std::string& target, const std::string& fstype,
           unsigned long flags, const std::string& data) {
    if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) < 0) {
        int err = errno;
        std::string what = "mount " + (fstype.empty() ? std::string() : fstype + " ") + quote(source) +
                           " on";
        throw_errno(what, target, err);
    }
}

void unmount(const std::string& target, int flags, bool missing_ok) {
    if (::umount2(target.c_str(), flags) < 0) {
        if (missing_ok && (errno == EINVAL || errno == ENOENT)) return;
        throw_errno("unmount", target);
    }
}

// Mount points in mountinfo escape space, tab, newline and backslash as \ooo.
static std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            int v = 0;
            bool ok = true;
            for (size_t k = 1; k <= 3; k++) {
                char c = s[i + k];
                if (c < '0' || c > '7') ok = false;
                v = v * 8 + (c - '0');
            }
            if (ok) {
                out += static_cast<char>(v);
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::vector<MountInfo> read_mountinfo(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw_errno("open", path);
    std::vector<MountInfo> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        MountInfo m;
        std::string major_minor, field;
        f >> m.id >> m.parent >> major_minor >> m.root >> m.mount_point >> m.options;
        while (f >> field && field != "-") m.optional += (m.optional.empty() ? "" : " ") + field;
        f >> m.fstype >> m.source >> m.super_options;
        m.root = unescape(m.root);
        m.mount_point = unescape(m.mount_point);
        m.source = unescape(m.source);
        out.push_back(std::move(m));
    }
    return out;
}

namespace {

// <linux/mount.h> of Linux 6.11, which the build's headers may predate.
constexpr long sys_statmount = 457, sys_listmount = 458;
constexpr uint64_t statmount_sb_basic = 0x1, statmount_mnt_root = 0x8, statmount_mnt_point = 0x10,
                   statmount_fs_type = 0x20, statmount_mnt_opts = 0x80;
constexpr uint64_t lsmt_root = ~uint64_t{0};

struct MntIdReq {
    uint32_t size = sizeof(MntIdReq);
    uint32_t spare = 0;
    uint64_t mnt_id = 0;
    uint64_t param = 0;
};

struct StatMount {
    uint32_t size, mnt_opts;
    uint64_t mask;
    uint32_t sb_dev_major, sb_dev_minor;
    uint64_t sb_magic;
    uint32_t sb_flags, fs_type;
    uint64_t mnt_id, mnt_parent_id;
    uint32_t mnt_id_old, mnt_parent_id_old;
    uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
    uint32_t mnt_root, mnt_point;
    uint64_t spare[50];
    // the strings follow
};

// statmount(2) of one mount into `buf`; false when the call failed.
bool stat_mount(uint64_t id, uint64_t mask, std::vector<uint64_t>& buf) {
    MntIdReq req;
    req.mnt_id = id;
    req.param = mask;
    for (;;) {
        if (::syscall(sys_statmount, &req, buf.data(), buf.size() * sizeof(uint64_t), 0) == 0) return true;
        if (errno != EOVERFLOW) return false;
        buf.resize(buf.size() * 2);
    }
}

// Every mount ID of this namespace; nullopt when the kernel has no listmount.
std::optional<std::vector<uint64_t>> list_mounts() {
    std::vector<uint64_t> ids;
    MntIdReq req;
    req.mnt_id = lsmt_root;
    uint64_t batch[512];
    for (;;) {
        long n = ::syscall(sys_listmount, &req, batch, std::size(batch), 0);
        if (n < 0) return std::nullopt;
        ids.insert(ids.end(), batch, batch + n);
        if (n < static_cast<long>(std::size(batch))) return ids;
        req.param = batch[n - 1];
    }
}

} // namespace

std::vector<MountInfo> read_mounts_of(const std::vector<std::pair<uint64_t, std::string>>& wanted) {
    std::vector<MountInfo> out;
    if (auto ids = list_mounts()) {
        std::vector<uint64_t> buf(512);
        // A mount without options (cgroup2) comes back without the
        // STATMOUNT_MNT_OPTS bit, as every mount does from a kernel before
        // 6.11: the answer holds only when some mount had the bit.
        bool complete = true, opts_known = false, opts_missing = false;
        for (uint64_t id : *ids) {
            if (!stat_mount(id, statmount_sb_basic, buf)) continue; // unmounted meanwhile
            const auto* sm = reinterpret_cast<const StatMount*>(buf.data());
            bool match = false;
            for (const auto& w : wanted) match |= sm->sb_magic == w.first;
            if (!match) continue;
            uint64_t magic = sm->sb_magic;
            uint64_t mask = statmount_mnt_root | statmount_mnt_point | statmount_fs_type;
            bool got = stat_mount(id, mask | statmount_mnt_opts, buf);
            if (!got && errno == ENOENT) continue;
            sm = reinterpret_cast<const StatMount*>(buf.data());
            if (!got || (sm->mask & mask) != mask) {
                complete = false;
                break;
            }
            bool has_opts = sm->mask & statmount_mnt_opts;
            (has_opts ? opts_known : opts_missing) = true;
            const char* str = reinterpret_cast<const char*>(buf.data()) + sizeof(StatMount);
            MountInfo m;
            m.root = str + sm->mnt_root;
            m.mount_point = str + sm->mnt_point;
            m.fstype = str + sm->fs_type;
            if (has_opts) m.super_options = str + sm->mnt_opts;
            for (const auto& w : wanted)
                if (w.first == magic && w.second == m.fstype) {
                    out.push_back(std::move(m)); // a magic may have several types (tmpfs, devtmpfs)
                    break;
                }
        }
        if (complete && (opts_known || !opts_missing)) return out;
        out.clear();
    }
    for (auto& m : read_mountinfo())
        for (const auto& w : wanted)
            if (m.fstype == w.second) {
                out.push_back(std::move(m));
                break;
            }
    return out;
}

bool is_mount_point(const std::string& path) {
    // statx(2) says it without the mount table (Linux 5.8), which costs the
    // kernel a formatted line per mount
    struct statx stx {};
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, 0, &stx) == 0 &&
        (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        return stx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
    for (const auto& m : read_mountinfo())
        if (m.mount_point == path) return true;
    return false;
}

int unmount_below(const std::string& prefix) {
    std::string p = prefix;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    std::vector<std::string> targets;
    for (const auto& m : read_mountinfo())
        if (m.mount_point == p || m.mount_point.rfind(p + "/", 0) == 0) targets.push_back(m.mount_point);
    // Later entries are mounted on top of earlier ones: undo in reverse.
    std::reverse(targets.begin(), targets.end());
    int n = 0;
    for (const auto& t : targets)
        if (::umount2(t.c_str(), MNT_DETACH) == 0) n++;
    return n;
}

namespace {

// The messages overlayfs logged on the fs context ("e: overlay: ..."), for errors.
std::string fs_context_log(int fsfd) {
    std::string log;
    char buf[512];
    for (;;) {
        ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
        if (n <= 0) break;
        if (!log.empty()) log += "; ";
        log.append(buf, static_cast<size_t>(n));
        while (!log.empty() && log.back() == '\n') log.pop_back();
    }
    return log;
}

[[noreturn]] void fail_overlay(const std::string& step, const std::string& target, int err, int fsfd) {
    int saved = err;
    std::string log = fs_context_log(fsfd);
    std::string what = "mount overlay (" + step + (log.empty() ? "" : ": " + log) + ") on";
    throw_errno(what, target, saved);
}

// Returns false when the kernel lacks the new API or "lowerdir+" (and `fallback_ok`).
bool mount_overlay_fsconfig(const std::string& target, const std::vector<std::string>& lowers,
                            const std::string& upper, const std::string& work, bool fallback_ok) {
    int fs = ::fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0) {
        if (fallback_ok && (errno == ENOSYS || errno == EPERM)) return false;
        throw_errno("fsopen overlay for", target);
    }
    UniqueFd fsfd(fs);
    auto set = [&](const char* key, const std::string& value) {
        return ::fsconfig(fs, FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0;
    };
    if (!set("source", "overlay")) fail_overlay("source", target, errno, fs);
    for (size_t i = 0; i < lowers.size(); i++) {
        if (set("lowerdir+", lowers[i])) continue;
        int err = errno;
        if (fallback_ok && err == EINVAL) {
            // Before 6.8 overlayfs does not know "lowerdir+"; before 6.5 the
            // kernel's legacy parser takes every key into one page of options
            // and refuses once they fill it ("Legacy: Cumulative options too
            // large"), whichever layer that is.
            std::string log = fs_context_log(fs);
            if (log.find("Legacy") != std::string::npos) return false;
            if (i == 0 && (log.find("lowerdir+") != std::string::npos ||
                           log.find("Unknown parameter") != std::string::npos || log.empty()))
                return false;
            throw_errno("mount overlay (lowerdir+ " + quote(lowers[i]) + ": " + log + ") on", target, err);
        }
        fail_overlay("lowerdir+ " + quote(lowers[i]), target, err, fs);
    }
    // The legacy parser's page can fill up on these too.
    auto set_or_fall_back = [&](const char* key, const std::string& value, const std::string& step) {
        if (set(key, value)) return true;
        int err = errno;
        std::string log = fs_context_log(fs);
        if (fallback_ok && err == EINVAL && log.find("Legacy") != std::string::npos) return false;
        throw_errno("mount overlay (" + step + (log.empty() ? "" : ": " + log) + ") on", target, err);
    };
    if (!set_or_fall_back("upperdir", upper, "upperdir " + quote(upper)) ||
        !set_or_fall_back("workdir", work, "workdir " + quote(work)) || !set_or_fall_back("index", "off", "index=off"))
        return false;
    if (::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
        // Before 6.5 overlayfs has no fs_context parser of its own: the
        // kernel's legacy one takes any key into the option string and only
        // the create fails, EINVAL ("unrecognized mount option lowerdir+" in
        // dmesg, nothing in the context's log). The legacy mount(2) says
        // what is really wrong, if anything.
        if (fallback_ok && errno == EINVAL && fs_context_log(fs).empty()) return false;
        fail_overlay("create", target, errno, fs);
    }
    int mnt = ::fsmount(fs, FSMOUNT_CLOEXEC, 0);
    if (mnt < 0) fail_overlay("fsmount", target, errno, fs);
    UniqueFd mntfd(mnt);
    if (::move_mount(mnt, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
        throw_errno("move overlay mount to", target);
    return true;
}

// overlayfs.rst: ':' and ',' in a path of the option string are escaped with a backslash.
std::string escape_overlay_path(const std::string& p) {
    std::string out;
    for (char c : p) {
        if (c == ':' || c == ',' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

void mount_overlay_legacy(const std::string& target, const std::vector<std::string>& lowers,
                          const std::string& upper, const std::string& work) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    auto options = [&](const std::string& base) {
        std::string lower;
        for (const auto& l : lowers) {
            if (!lower.empty()) lower += ':';
            lower += escape_overlay_path(base.empty() ? l : l.substr(base.size() + 1));
        }
        return "lowerdir=" + lower + ",upperdir=" + escape_overlay_path(upper) +
               ",workdir=" + escape_overlay_path(work) + ",index=off";
    };
    std::string data = options("");
    if (data.size() < page) {
        mount("overlay", target, "overlay", 0, data);
        return;
    }
    // Relative lower paths: the kernel resolves them against the caller's
    // working directory, so mount from their common parent.
    std::string base = lowers.front().substr(0, lowers.front().rfind('/'));
    for (const auto& l : lowers)
        while (!base.empty() && l.compare(0, base.size() + 1, base + "/") != 0)
            base = base.substr(0, base.rfind('/'));
    if (base.empty() || (data = options(base)).size() >= page)
        throw Error("mount overlay on " + quote(target) + ": " + std::to_string(lowers.size()) +
                        " layers do not fit in the mount options of this kernel (no \"lowerdir+\")",
                    ErrorKind::failed);
    UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cwd) throw_errno("open current directory");
    if (::chdir(base.c_str()) < 0) throw_errno("chdir", base);
    try {
        mount("overlay", target, "overlay", 0, data);
    } catch (...) {
        (void)!::fchdir(cwd.get());
        throw;
    }
    if (::fchdir(cwd.get()) < 0) throw_errno("chdir back");
}

} // namespace

void mount_overlay(const std::string& target, const std::vector<std::string>& lowers,
                   const std::string& upper, const std::string& work, OverlayApi api) {
    if (lowers.empty()) throw Error("mount overlay on " + quote(target) + ": no lower layers", ErrorKind::invalid);
    if (api != OverlayApi::legacy &&
        mount_overlay_fsconfig(target, lowers, upper, work, api == OverlayApi::automatic))
        return;
    mount_overlay_legacy(target, lowers, upper, work);
}

MountGuard::~MountGuard() {
    if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
}

UniqueFd open_tree(int dirfd, const std::string& path, unsigned flags) {
    int fd = ::open_tree(dirfd, path.c_str(), flags | OPEN_TREE_CLOEXEC);
    if (fd < 0) throw_errno("open_tree", path);
    return UniqueFd(fd);
}

void move_mount(int from, int to, const std::string& what) {
    if (::move_mount(from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throw_errno("move_mount onto", what);
}

void mount_setattr(int fd, const MountAttr& attr, bool recursive, const std::string& what) {
    if (attr.empty()) return;
    struct mount_attr a {};
    a.attr_set = attr.set;
    a.attr_clr = attr.clear;
    // Setting one atime mode needs the whole atime field cleared first.
    if (attr.set & (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME)) a.attr_clr |= MOUNT_ATTR__ATIME;
    a.propagation = attr.propagation;
    unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    if (::mount_setattr(fd, "", flags, &a, sizeof a) < 0) throw_errno("mount_setattr", what);
}

// The filesystem context keeps a message log ("e ..." lines) that explains
// most fsconfig failures better than errno alone.
static std::string fs_context_message(int fsfd) {
    char buf[512];
    std::string out;
    for (;;) {
        ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
        if (n <= 0) break;
        buf[n] = 0;
        std::string_view line(buf, static_cast<size_t>(n));
        if (line.size() > 2 && line[1] == ' ') line.remove_prefix(2);
        while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
        if (!out.empty()) out += "; ";
        out += line;
    }
    return out;
}

UniqueFd fs_mount(const std::string& fstype, const std::string& source,
                  const std::vector<std::string>& options, uint64_t attr_flags) {
    int raw = ::fsopen(fstype.c_str(), FSOPEN_CLOEXEC);
    if (raw < 0) throw_errno("fsopen", fstype);
    UniqueFd fs(raw);
    auto fail = [&](const std::string& what) {
        int err = errno;
        std::string msg = fs_context_message(fs.get());
        std::string object = fstype + (what.empty() ? "" : " " + what);
        if (msg.empty()) throw_errno("mount", object, err);
        throw Error("mount " + quote(object) + ": " + msg + ": " + errno_text(err),
                    ErrorKind::failed, err);
    };
    if (!source.empty() && ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "source", source.c_str(), 0) < 0)
        fail("source=" + source);
    for (const auto& o : options) {
        auto eq = o.find('=');
        int rc;
        if (eq == std::string::npos) {
            rc = ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, o.c_str(), nullptr, 0);
        } else {
            std::string key = o.substr(0, eq);
            rc = ::fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), o.c_str() + eq + 1, 0);
        }
        if (rc < 0) fail("option " + o);
    }
    if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) fail("");
    int m = ::fsmount(fs.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attr_flags));
    if (m < 0) fail("");
    return UniqueFd(m);
}

namespace {
struct FlagOption {
    const char* name;
    bool clear;
    unsigned long flag;
};
constexpr FlagOption flag_options[] = {
    {"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},      {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},  {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},    {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},  {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME}, {"nolazytime", true, MS_LAZYTIME},
    {"nosymfollow", false, MS_NOSYMFOLLOW}, {"symfollow", true, MS_NOSYMFOLLOW},
    {"bind", false, MS_BIND},        {"rbind", false, MS_BIND | MS_REC},
    {"silent", false, MS_SILENT},    {"loud", true, MS_SILENT},
    {"defaults", false, 0},
};
constexpr FlagOption propagation_options[] = {
    {"private", false, MS_PRIVATE},       {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},         {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},           {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};
struct AttrOption {
    const char* name;
    bool clear;
    uint64_t attr;
};
// runc 1.1+ "recursive" options, applied with mount_setattr(AT_RECURSIVE).
constexpr AttrOption recursive_options[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},     {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID}, {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},   {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC}, {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};
// Options other runtimes define that are not filesystem data.
constexpr const char* extension_options[] = {"tmpcopyup", "idmap", "ridmap", "copy-symlink",
                                             "src-nofollow"};
} // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
    MountOptions out;
    for (const auto& o : options) {
        bool done = false;
        for (const auto& f : flag_options) {
            if (o != f.name) continue;
            if (f.clear) {
                out.flags &= ~f.flag;
                out.clear |= f.flag;
            } else {
                out.flags |= f.flag;
                out.clear &= ~f.flag;
            }
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& f : propagation_options) {
            if (o != f.name) continue;
            out.propagation.push_back(f.flag);
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& f : recursive_options) {
            if (o != f.name) continue;
            if (f.clear) {
                out.recursive.clear |= f.attr;
                out.recursive.set &= ~f.attr;
            } else {
                out.recursive.set |= f.attr;
                out.recursive.clear &= ~f.attr;
            }
            done = true;
            break;
        }
        if (done) continue;
        for (const char* e : extension_options) {
            if (o == e) {
                out.unknown.push_back(o);
                done = true;
                break;
            }
        }
        if (!done) out.data.push_back(o);
    }
    return out;
}

std::string MountOptions::data_string() const { return join(data, ","); }

MountAttr MountOptions::attr() const {
    MountAttr a;
    auto map = [&](unsigned long ms, uint64_t attr) {
        if (flags & ms) a.set |= attr;
        if (clear & ms) a.clear |= attr;
    };
    map(MS_RDONLY, MOUNT_ATTR_RDONLY);
    map(MS_NOSUID, MOUNT_ATTR_NOSUID);
    map(MS_NODEV, MOUNT_ATTR_NODEV);
    map(MS_NOEXEC, MOUNT_ATTR_NOEXEC);
    map(MS_NODIRATIME, MOUNT_ATTR_NODIRATIME);
    map(MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW);
    if (flags & MS_NOATIME) {
        a.set |= MOUNT_ATTR_NOATIME;
    } else if (flags & MS_STRICTATIME) {
        a.set |= MOUNT_ATTR_STRICTATIME;
    } else if (flags & MS_RELATIME) {
        a.clear |= MOUNT_ATTR__ATIME; // relatime is the zero value of the atime field
    }
    return a;
}

unsigned long mount_flags_of(int fd) {
    struct statvfs st {};
    if (::fstatvfs(fd, &st) < 0) throw_errno("statvfs");
    unsigned long f = 0;
    if (st.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) f |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

} // namespace ctk::linux
