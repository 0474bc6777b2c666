// docker cp: files between the host and a container's root filesystem.
// The container side is resolved inside its rootfs (openat2 RESOLVE_IN_ROOT),
// and every entry below is made with *at calls and O_NOFOLLOW relative to
// directory fds, so a symlink in the container cannot point the copy at the host.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/engine.hpp"

namespace ctk::engine {

namespace {

struct Side {
    bool in_container = false;
    UniqueFd root;        // the container's rootfs
    std::string path;     // as given
    std::string shown;    // for messages
};

UniqueFd open_at(const Side& s, const std::string& path, int flags) {
    if (s.in_container) return try_open_in_root(s.root.get(), path.empty() ? "/" : path, flags);
    return UniqueFd(::open(path.empty() ? "." : path.c_str(), flags | O_CLOEXEC));
}

std::pair<std::string, std::string> split_path(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto slash = p.rfind('/');
    if (slash == std::string::npos) return {"", p};
    return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

void copy_contents(int in, int out, const std::string& what) {
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(in, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", what);
        }
        if (n == 0) break;
        write_all(out, std::string_view(buf, static_cast<size_t>(n)), what);
    }
}

void copy_entry(int sdir, const std::string& sname, int ddir, const std::string& dname, const std::string& shown) {
    struct stat st;
    if (::fstatat(sdir, sname.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", shown);
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(ddir, dname.c_str(), st.st_mode & 07777) < 0 && errno != EEXIST) throw_errno("mkdir", dname);
        UniqueFd in(::openat(sdir, sname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!in) throw_errno("open", shown);
        UniqueFd out(::openat(ddir, dname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!out) throw_errno("open", dname);
        for (const auto& n : entry_names(in.get(), shown)) copy_entry(in.get(), n, out.get(), n, shown + "/" + n);
        ::fchmod(out.get(), st.st_mode & 07777);
        ::futimens(out.get(), times);
        return;
    }
    // a file, link or node replaces what is there (but never a directory)
    struct stat dst;
    if (::fstatat(ddir, dname.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(dst.st_mode)) throw_conflict("cannot overwrite directory " + quote(dname) + " with non-directory " + quote(shown));
        if (!S_ISREG(st.st_mode) || !S_ISREG(dst.st_mode)) ::unlinkat(ddir, dname.c_str(), 0);
    }
    if (S_ISREG(st.st_mode)) {
        UniqueFd in(::openat(sdir, sname.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!in) throw_errno("open", shown);
        UniqueFd out(::openat(ddir, dname.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777));
        if (!out) throw_errno("create", dname);
        copy_contents(in.get(), out.get(), shown);
        ::fchmod(out.get(), st.st_mode & 07777);
        ::futimens(out.get(), times);
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(sdir, sname.c_str(), target, sizeof target - 1);
        if (n < 0) throw_errno("readlink", shown);
        target[n] = 0;
        if (::symlinkat(target, ddir, dname.c_str()) < 0) throw_errno("symlink", dname);
        ::utimensat(ddir, dname.c_str(), times, AT_SYMLINK_NOFOLLOW);
    } else {
        if (::mknodat(ddir, dname.c_str(), st.st_mode, st.st_rdev) < 0) throw_errno("mknod", dname);
    }
}

} // namespace

void Engine::copy(const std::string& src_in, const std::string& dst_in) {
    auto container_side = [&](const std::string& s, Side& side) {
        if (s.empty() || s[0] == '/' || s[0] == '.') return false;
        auto colon = s.find(':');
        if (colon == std::string::npos || colon == 0) return false;
        ContainerRecord r = containers_.lookup(s.substr(0, colon));
        std::string rootfs = r.ctk().value("Bundle", containers_.dir(r.id) + "/bundle") + "/rootfs";
        side.in_container = true;
        side.root = open_dir(rootfs);
        side.path = s.substr(colon + 1);
        if (side.path.empty() || side.path[0] != '/') side.path = "/" + side.path;
        side.shown = s;
        return true;
    };
    Side src, dst;
    bool sc = container_side(src_in, src), dc = container_side(dst_in, dst);
    if (sc == dc) throw Error("copying between containers or between host paths is not supported: one side must be CONTAINER:PATH", ErrorKind::usage);
    if (!sc) {
        src.path = src_in;
        src.shown = src_in;
    }
    if (!dc) {
        dst.path = dst_in;
        dst.shown = dst_in;
    }
    if (explain_) return;
    bool contents_only = src.path.size() >= 2 && src.path.substr(src.path.size() - 2) == "/.";
    std::string src_path = contents_only ? src.path.substr(0, src.path.size() - 2) : src.path;
    auto [sparent, sname] = split_path(src_path);
    UniqueFd sdir = open_at(src, sparent.empty() ? "." : sparent, O_PATH | O_DIRECTORY);
    struct stat st;
    if (!sdir || ::fstatat(sdir.get(), sname.empty() ? "." : sname.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (src.in_container) throw_not_found("Could not find the file " + src.path + " in container " + src_in.substr(0, src_in.find(':')));
        throw_errno("stat", src.shown);
    }
    bool dst_dir_hint = !dst.path.empty() && dst.path.back() == '/';
    UniqueFd dfull = open_at(dst, dst.path, O_PATH);
    struct stat dt;
    bool dst_exists = dfull && ::fstat(dfull.get(), &dt) == 0;
    if (dst_exists && S_ISDIR(dt.st_mode)) {
        UniqueFd ddir = open_at(dst, dst.path, O_RDONLY | O_DIRECTORY);
        if (!ddir) throw_errno("open", dst.shown);
        if (contents_only && S_ISDIR(st.st_mode)) {
            UniqueFd in(::openat(sdir.get(), sname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!in) throw_errno("open", src.shown);
            for (const auto& n : entry_names(in.get(), src.shown))
                copy_entry(in.get(), n, ddir.get(), n, src.shown + "/" + n);
            return;
        }
        copy_entry(sdir.get(), sname, ddir.get(), sname, src.shown);
        return;
    }
    if (dst_exists && S_ISDIR(st.st_mode)) throw_invalid("cannot copy directory " + quote(src.shown) + " to file " + quote(dst.shown));
    if (!dst_exists && dst_dir_hint && !S_ISDIR(st.st_mode))
        throw_not_found("destination directory " + quote(dst.shown) + " does not exist");
    auto [dparent, dname] = split_path(dst.path);
    UniqueFd ddir = open_at(dst, dparent.empty() ? "." : dparent, O_RDONLY | O_DIRECTORY);
    if (!ddir) throw_errno("open", dparent.empty() ? "." : dparent);
    copy_entry(sdir.get(), sname, ddir.get(), dname, src.shown);
}

} // namespace ctk::engine
