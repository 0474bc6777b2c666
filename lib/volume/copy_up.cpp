#include "volume/copy_up.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"

namespace ctk::volume {

namespace {

bool ignorable_xattr_error(int err) { return err == ENOTSUP || err == EPERM || err == ENODATA; }

// An xattr holder: an open fd (files, directories), or a path of the form
// "/proc/self/fd/<dir>/<name>" for symlinks and device nodes: that names the entry below
// a directory fd we hold, and the l*xattr calls do not follow a symlink at its end.
struct XattrRef {
    int fd = -1;
    std::string path;
    ssize_t list(char* buf, size_t size) const {
        return fd >= 0 ? ::flistxattr(fd, buf, size) : ::llistxattr(path.c_str(), buf, size);
    }
    ssize_t get(const char* name, void* buf, size_t size) const {
        return fd >= 0 ? ::fgetxattr(fd, name, buf, size) : ::lgetxattr(path.c_str(), name, buf, size);
    }
    int set(const char* name, const void* buf, size_t size) const {
        return fd >= 0 ? ::fsetxattr(fd, name, buf, size, 0) : ::lsetxattr(path.c_str(), name, buf, size, 0);
    }
};

XattrRef at_fd(int fd) { return XattrRef{fd, {}}; }
XattrRef at_entry(int dir, const std::string& name) {
    return XattrRef{-1, "/proc/self/fd/" + std::to_string(dir) + "/" + name};
}

void copy_xattrs(const XattrRef& src, const XattrRef& dst, const std::string& shown) {
    std::vector<char> names(4096);
    ssize_t n;
    for (;;) {
        n = src.list(names.data(), names.size());
        if (n >= 0) break;
        if (errno == ERANGE) {
            names.resize(names.size() * 4);
            continue;
        }
        if (ignorable_xattr_error(errno)) return;
        throw_errno("listxattr", shown);
    }
    std::vector<char> value(4096);
    for (ssize_t off = 0; off < n;) {
        const char* name = names.data() + off;
        off += static_cast<ssize_t>(std::strlen(name)) + 1;
        ssize_t len;
        for (;;) {
            len = src.get(name, value.data(), value.size());
            if (len >= 0 || errno != ERANGE) break;
            value.resize(value.size() * 4);
        }
        if (len < 0) {
            if (ignorable_xattr_error(errno)) continue;
            throw_errno(std::string("getxattr ") + name, shown);
        }
        if (dst.set(name, value.data(), static_cast<size_t>(len)) < 0 && !ignorable_xattr_error(errno))
            throw_errno(std::string("setxattr ") + name, shown);
    }
}

void copy_data(int in, int out, const std::string& shown, uint64_t& bytes) {
    bool use_cfr = true;
    std::vector<char> buf;
    for (;;) {
        ssize_t n;
        if (use_cfr) {
            n = ::copy_file_range(in, nullptr, out, nullptr, 1u << 30, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                          errno == EBADF)) {
                use_cfr = false;
                continue;
            }
        } else {
            if (buf.empty()) buf.resize(1u << 17);
            n = ::read(in, buf.data(), buf.size());
            if (n > 0) write_all(out, std::string_view(buf.data(), static_cast<size_t>(n)), shown);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("copy", shown);
        }
        if (n == 0) return;
        bytes += static_cast<uint64_t>(n);
    }
}

// Owner first: chown clears set-id bits, so the mode comes after it.
void set_attributes(int fd, const struct stat& st, const std::string& shown) {
    if (::fchown(fd, st.st_uid, st.st_gid) < 0 && !(errno == EPERM && ::geteuid() != 0))
        throw_errno("chown", shown);
    if (::fchmod(fd, st.st_mode & 07777) < 0) throw_errno("chmod", shown);
}

void set_times(int fd, const struct stat& st, const std::string& shown) {
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) < 0) throw_errno("utimens", shown);
}

struct Copier {
    int dst_root;
    CopyStats stats;
    std::map<std::pair<dev_t, ino_t>, std::string> links; // first copy of a multiply-linked inode

    void copy_dir(int src, int dst, const std::string& rel) {
        for (const auto& name : entry_names(src, rel.empty() ? "." : rel)) {
            std::string child = rel.empty() ? name : rel + "/" + name;
            struct stat st;
            if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT) continue;
                throw_errno("stat", child);
            }
            if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                auto it = links.find({st.st_dev, st.st_ino});
                if (it != links.end()) {
                    // The first copy is found again in-root: whatever changed in the volume
                    // meanwhile, the link's source cannot be outside it.
                    UniqueFd first = try_open_in_root(dst_root, it->second, O_PATH | O_NOFOLLOW);
                    if (!first) throw_errno("open", it->second);
                    std::string via = "/proc/self/fd/" + std::to_string(first.get());
                    if (::linkat(AT_FDCWD, via.c_str(), dst, name.c_str(), AT_SYMLINK_FOLLOW) < 0)
                        throw_errno("link", child);
                    stats.hardlinks++;
                    continue;
                }
                links.emplace(std::make_pair(st.st_dev, st.st_ino), child);
            }
            if (S_ISDIR(st.st_mode)) copy_subdir(src, dst, name, child, st);
            else if (S_ISREG(st.st_mode)) copy_file(src, dst, name, child, st);
            else if (S_ISLNK(st.st_mode)) copy_symlink(src, dst, name, child, st);
            else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) copy_special(src, dst, name, child, st);
            // Sockets belong to a process that is not here: not copied.
        }
    }

    void copy_subdir(int src, int dst, const std::string& name, const std::string& child,
                     const struct stat& st) {
        UniqueFd s(::openat(src, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) throw_errno("open", child);
        if (::mkdirat(dst, name.c_str(), 0700) < 0) throw_errno("mkdir", child);
        UniqueFd d(::openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) throw_errno("open", child);
        stats.dirs++;
        copy_dir(s.get(), d.get(), child);
        set_attributes(d.get(), st, child);
        copy_xattrs(at_fd(s.get()), at_fd(d.get()), child);
        set_times(d.get(), st, child);
    }

    void copy_file(int src, int dst, const std::string& name, const std::string& child,
                   const struct stat& st) {
        // O_NONBLOCK: should the entry turn into a FIFO after the stat, open does not hang.
        UniqueFd s(::openat(src, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (!s) throw_errno("open", child);
        struct stat now;
        if (::fstat(s.get(), &now) < 0) throw_errno("stat", child);
        if (!S_ISREG(now.st_mode) || now.st_ino != st.st_ino) throw_invalid(child + ": changed during copy-up");
        UniqueFd d(::openat(dst, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!d) throw_errno("create", child);
        copy_data(s.get(), d.get(), child, stats.bytes);
        set_attributes(d.get(), st, child);
        copy_xattrs(at_fd(s.get()), at_fd(d.get()), child);
        set_times(d.get(), st, child);
        stats.files++;
    }

    void copy_symlink(int src, int dst, const std::string& name, const std::string& child,
                      const struct stat& st) {
        std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
        if (n < 0) throw_errno("readlink", child);
        target.resize(static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), dst, name.c_str()) < 0) throw_errno("symlink", child);
        if (::fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
            !(errno == EPERM && ::geteuid() != 0))
            throw_errno("chown", child);
        copy_xattrs(at_entry(src, name), at_entry(dst, name), child);
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        if (::utimensat(dst, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("utimens", child);
        stats.symlinks++;
    }

    void copy_special(int src, int dst, const std::string& name, const std::string& child,
                      const struct stat& st) {
        if (::mknodat(dst, name.c_str(), st.st_mode & (S_IFMT | 0777), st.st_rdev) < 0)
            throw_errno("mknod", child);
        if (::fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
            !(errno == EPERM && ::geteuid() != 0))
            throw_errno("chown", child);
        // chmod through an O_PATH fd of the node just made: fchmodat would follow a symlink
        // put in its place.
        UniqueFd node(::openat(dst, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat made;
        if (!node || ::fstat(node.get(), &made) < 0) throw_errno("open", child);
        if ((made.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) throw_invalid(child + ": changed during copy-up");
        std::string via = "/proc/self/fd/" + std::to_string(node.get());
        if (::chmod(via.c_str(), st.st_mode & 07777) < 0) throw_errno("chmod", child);
        copy_xattrs(at_entry(src, name), at_entry(dst, name), child);
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        if (::utimensat(dst, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("utimens", child);
        stats.specials++;
    }
};

} // namespace

CopyStats copy_tree(int src_dir, int dst_dir) {
    Copier c{dst_dir, {}, {}};
    c.copy_dir(src_dir, dst_dir, "");
    return c.stats;
}

void copy_dir_attributes(int src_dir, int dst_dir) {
    struct stat st;
    if (::fstat(src_dir, &st) < 0) throw_errno("stat", "copy-up source");
    set_attributes(dst_dir, st, ".");
    copy_xattrs(at_fd(src_dir), at_fd(dst_dir), ".");
    set_times(dst_dir, st, ".");
}

CopyUpSource open_copy_up_source(int rootfs, const std::string& target, int& fd) {
    UniqueFd f = try_open_in_root(rootfs, target, O_RDONLY | O_DIRECTORY);
    if (!f) {
        if (errno == ENOENT) return CopyUpSource::missing;
        if (errno == ENOTDIR) {
            // Either the target itself or a component on the way is not a directory.
            UniqueFd any = try_open_in_root(rootfs, target, O_PATH);
            return any ? CopyUpSource::not_directory : CopyUpSource::missing;
        }
        throw_errno("open in rootfs", target);
    }
    fd = f.release();
    return CopyUpSource::directory;
}

bool directory_empty(int dir) { return entry_names(dir, "volume").empty(); }

} // namespace ctk::volume
