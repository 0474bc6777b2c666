#include "image/union_view.hpp"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <deque>

#include "core/error.hpp"

namespace ctk::image {

bool is_overlay_whiteout(const struct stat& st) {
    return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

bool is_opaque_dir(int dirfd) {
    char v[4];
    ssize_t n = ::fgetxattr(dirfd, overlay_opaque_xattr, v, sizeof v);
    return n == 1 && v[0] == 'y';
}

static UniqueFd open_dir_below(int parent, const std::string& name) {
    int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw_errno("open directory", name);
    return UniqueFd(fd);
}

UnionDir UnionView::root() const {
    UnionDir d;
    for (size_t i = 0; i < roots_.size(); i++) {
        int fd = ::openat(roots_[i], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw_errno("open layer root");
        d.parts.push_back({i, UniqueFd(fd)});
        if (is_opaque_dir(fd)) break;
    }
    return d;
}

UnionView::Lookup UnionView::lookup(const UnionDir& dir, const std::string& name) const {
    Lookup out;
    for (const auto& part : dir.parts) {
        struct stat st;
        if (::fstatat(part.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) continue;
            throw_errno("stat", name);
        }
        // A whiteout hides this name in every layer below; below a directory
        // it only ends the merge.
        if (is_overlay_whiteout(st)) break;
        if (!S_ISDIR(st.st_mode)) {
            if (out.kind == Lookup::directory) break;
            out.kind = Lookup::other;
            out.layer = part.layer;
            out.parent_fd = part.fd.get();
            out.st = st;
            return out;
        }
        UniqueFd fd = open_dir_below(part.fd.get(), name);
        bool opaque = is_opaque_dir(fd.get());
        if (out.kind == Lookup::absent) {
            out.kind = Lookup::directory;
            out.layer = part.layer;
            out.parent_fd = part.fd.get();
            out.st = st;
        }
        out.dir.parts.push_back({part.layer, std::move(fd)});
        if (opaque) break;
    }
    return out;
}

UnionView::Resolved UnionView::resolve(const std::vector<std::string>& parts) const {
    struct Item {
        std::string name;
        bool from_link;
    };
    std::deque<Item> todo;
    for (const auto& p : parts) todo.push_back({p, false});
    Resolved r;
    r.dir = root();
    int links = 0;
    auto show = [&] {
        std::string s;
        for (const auto& p : parts) s += (s.empty() ? "" : "/") + p;
        return quote(s);
    };
    while (!todo.empty()) {
        Item item = std::move(todo.front());
        todo.pop_front();
        if (item.name.empty() || item.name == ".") continue;
        if (item.name == "..") {
            // The root's parent is the root, as with RESOLVE_IN_ROOT.
            if (r.real.empty()) continue;
            r.real.pop_back();
            r.real_st.pop_back();
            r.real_top.pop_back();
            r.dir = root();
            for (const auto& c : r.real) r.dir = std::move(lookup(r.dir, c).dir);
            continue;
        }
        Lookup lk = lookup(r.dir, item.name);
        if (lk.kind == Lookup::directory) {
            r.real.push_back(item.name);
            r.real_st.push_back(lk.st);
            int top = ::fcntl(lk.dir.parts.front().fd.get(), F_DUPFD_CLOEXEC, 0);
            if (top < 0) throw_errno("dup");
            r.real_top.emplace_back(top);
            r.dir = std::move(lk.dir);
            continue;
        }
        if (lk.kind == Lookup::other) {
            if (!S_ISLNK(lk.st.st_mode))
                throw_invalid("directory " + show() + ": " + quote(item.name) + " is not a directory");
            if (++links > 40) throw_invalid("directory " + show() + ": too many levels of symbolic links");
            std::string target(static_cast<size_t>(lk.st.st_size) + 1, '\0');
            ssize_t n = ::readlinkat(lk.parent_fd, item.name.c_str(), target.data(), target.size());
            if (n < 0) throw_errno("readlink", item.name);
            target.resize(static_cast<size_t>(n));
            if (!target.empty() && target[0] == '/') {
                r.real.clear();
                r.real_st.clear();
                r.real_top.clear();
                r.dir = root();
            }
            std::vector<Item> expanded;
            size_t i = 0;
            while (i <= target.size()) {
                size_t j = target.find('/', i);
                if (j == std::string::npos) j = target.size();
                expanded.push_back({target.substr(i, j - i), true});
                i = j + 1;
            }
            todo.insert(todo.begin(), expanded.begin(), expanded.end());
            continue;
        }
        if (item.from_link)
            throw_invalid("directory " + show() + ": a symbolic link on the way points to nothing");
        r.missing.push_back(item.name);
        for (auto& rest : todo) r.missing.push_back(std::move(rest.name));
        break;
    }
    return r;
}

} // namespace ctk::image
