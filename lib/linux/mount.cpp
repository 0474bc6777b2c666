#include "linux/mount.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

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

MountGuard::~MountGuard() {
    if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
}

} // namespace ctk::linux
