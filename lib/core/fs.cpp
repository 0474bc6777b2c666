#include "core/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace ctk {

UniqueFd open_path(const std::string& path, int flags, mode_t mode) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) throw_errno("open", path);
    return UniqueFd(fd);
}

UniqueFd open_dir(const std::string& path) {
    return open_path(path, O_RDONLY | O_DIRECTORY);
}

void make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
    read_end.reset(p[0]);
    write_end.reset(p[1]);
}

static long sys_openat2(int dirfd, const char* path, open_how* how) {
    return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

bool have_openat2() {
    static const bool have = [] {
        open_how how{};
        how.flags = O_RDONLY | O_CLOEXEC | O_PATH;
        long fd = sys_openat2(AT_FDCWD, "/", &how);
        if (fd >= 0) {
            ::close(static_cast<int>(fd));
            return true;
        }
        return errno != ENOSYS;
    }();
    return have;
}

UniqueFd try_open_in_root(int rootfd, std::string_view path, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string p(path.empty() ? "." : path);
    long fd;
    do {
        fd = sys_openat2(rootfd, p.c_str(), &how);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return UniqueFd(static_cast<int>(fd));
}

UniqueFd open_in_root(int rootfd, std::string_view path, int flags, mode_t mode) {
    UniqueFd fd = try_open_in_root(rootfd, path, flags, mode);
    if (!fd) throw_errno("open", path);
    return fd;
}

std::string read_fd(int fd, size_t max_size) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read");
        }
        if (n == 0) break;
        if (out.size() + static_cast<size_t>(n) > max_size)
            throw Error("larger than " + std::to_string(max_size) + " bytes", ErrorKind::invalid);
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file(const std::string& path, size_t max_size) {
    UniqueFd fd = open_path(path, O_RDONLY);
    try {
        return read_fd(fd.get(), max_size);
    } catch (const Error& e) {
        throw e.wrap("read " + quote(path));
    }
}

std::string read_link(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    return n > 0 && size_t(n) < sizeof buf ? std::string(buf, size_t(n)) : std::string();
}

std::optional<std::string> read_file_if_exists(const std::string& path, size_t max_size) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("open", path);
    }
    UniqueFd owner(fd);
    try {
        return read_fd(fd, max_size);
    } catch (const Error& e) {
        // /proc/PID/… of a process that exited after the open: gone as well
        if (e.error_number() == ESRCH) return std::nullopt;
        throw e.wrap("read " + quote(path));
    }
}

void write_all(int fd, std::string_view data, std::string_view what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write", what);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

static std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

void sync_parent_dir(const std::string& path) {
    UniqueFd dir = open_path(dir_of(path), O_RDONLY | O_DIRECTORY);
    if (::fsync(dir.get()) < 0 && errno != EINVAL) throw_errno("fsync", dir_of(path));
}

void write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
    std::string tmp = path + ".tmp-" + random_hex(6);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) throw_errno("create", tmp);
    UniqueFd owner(fd);
    ScopeGuard unlink_tmp([&] { ::unlink(tmp.c_str()); });
    write_all(fd, data, tmp);
    if (::fchmod(fd, mode) < 0) throw_errno("chmod", tmp);
    if (::fsync(fd) < 0) throw_errno("fsync", tmp);
    owner.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename to", path);
    unlink_tmp.dismiss();
    sync_parent_dir(path);
}

void make_dirs(const std::string& path, mode_t mode) {
    if (path.empty()) return;
    if (::mkdir(path.c_str(), mode) == 0) return;
    if (errno == EEXIST) {
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
        throw_errno("mkdir", path, ENOTDIR);
    }
    if (errno != ENOENT) throw_errno("mkdir", path);
    std::string parent = dir_of(path);
    if (parent != path) make_dirs(parent, mode);
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) throw_errno("mkdir", path);
}

std::vector<std::string> entry_names(int dirfd, const std::string& shown) {
    int dupfd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) throw_errno("dup", shown);
    DIR* d = ::fdopendir(dupfd);
    if (!d) {
        ::close(dupfd);
        throw_errno("opendir", shown);
    }
    ::rewinddir(d); // the duplicate shares the offset of `dirfd`
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
    int err = errno;
    ::closedir(d);
    if (err) throw_errno("readdir", shown, err);
    return names;
}

static void remove_children(int dirfd, const std::string& shown, dev_t dev) {
    for (const auto& name : entry_names(dirfd, shown)) {
        const char* n = name.c_str();
        std::string child = shown + "/" + name;
        struct stat st;
        if (::fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) continue;
            throw_errno("stat", child);
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) throw_errno("remove", child, EBUSY);
            int sub = ::openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) throw_errno("open", child);
            UniqueFd subfd(sub);
            remove_children(sub, child, dev);
            if (::unlinkat(dirfd, n, AT_REMOVEDIR) < 0 && errno != ENOENT)
                throw_errno("rmdir", child);
        } else if (::unlinkat(dirfd, n, 0) < 0 && errno != ENOENT) {
            throw_errno("unlink", child);
        }
    }
}

void remove_tree_at(int dirfd, const std::string& name) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return;
        throw_errno("stat", name);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT) throw_errno("unlink", name);
        return;
    }
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw_errno("open", name);
    UniqueFd owner(fd);
    remove_children(fd, name, st.st_dev);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
        throw_errno("rmdir", name);
}

void remove_tree(const std::string& path) { remove_tree_at(AT_FDCWD, path); }

std::string random_hex(size_t bytes) {
    std::string raw(bytes, '\0');
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("getrandom");
        }
        got += static_cast<size_t>(n);
    }
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (unsigned char c : raw) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

TempDir::TempDir(const std::string& prefix, const std::string& parent) {
    std::string base = parent;
    if (base.empty()) {
        const char* t = std::getenv("TMPDIR");
        base = (t && *t) ? t : "/tmp";
    }
    std::string tmpl = base + "/" + prefix + ".XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw_errno("mkdtemp", tmpl);
    path_ = std::move(tmpl);
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    try {
        remove_tree(path_);
    } catch (...) {
        // A destructor cannot report; what is left is visible under $TMPDIR.
    }
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

} // namespace ctk
