#include "linux/mount.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"

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

bool is_mount_point(const std::string& path) {
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
        if (i == 0 && fallback_ok && err == EINVAL) {
            // Before 6.8 overlayfs does not know "lowerdir+".
            std::string log = fs_context_log(fs);
            if (log.find("lowerdir+") != std::string::npos || log.find("Unknown parameter") != std::string::npos ||
                log.empty())
                return false;
            throw_errno("mount overlay (lowerdir+ " + quote(lowers[i]) + ": " + log + ") on", target, err);
        }
        fail_overlay("lowerdir+ " + quote(lowers[i]), target, err, fs);
    }
    if (!set("upperdir", upper)) fail_overlay("upperdir " + quote(upper), target, errno, fs);
    if (!set("workdir", work)) fail_overlay("workdir " + quote(work), target, errno, fs);
    if (!set("index", "off")) fail_overlay("index=off", target, errno, fs);
    if (::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        fail_overlay("create", target, errno, fs);
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

} // namespace ctk::linux
