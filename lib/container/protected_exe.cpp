#include "container/protected_exe.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "core/fd.hpp"

extern char** environ;

namespace ctk::container {

namespace {
constexpr const char* reexec_marker = "_CTK_NS_RUN_PROTECTED";

void exec_fd(int fd, char** argv) {
    ::setenv(reexec_marker, "1", 1);
    ::execveat(fd, "", argv, environ, AT_EMPTY_PATH);
    int err = errno;
    ::unsetenv(reexec_marker);
    throw_errno("re-execute ns-run from a protected copy", err);
}

// A read-only bind mount of the binary, detached from every mount tree: no
// path leads to it except /proc/PID/exe, and that path is read-only.
UniqueFd readonly_clone() {
    int fd = ::open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0) return UniqueFd();
    UniqueFd tree(fd);
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID;
    if (::mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) return UniqueFd();
    return tree;
}

UniqueFd sealed_copy() {
    int src = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0) throw_errno("open", "/proc/self/exe");
    UniqueFd in(src);
    struct stat st {};
    if (::fstat(src, &st) < 0) throw_errno("stat", "/proc/self/exe");
    int fd = ::memfd_create("ns-run", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw_errno("memfd_create");
    UniqueFd mem(fd);
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = ::sendfile(fd, src, nullptr, static_cast<size_t>(left));
        if (n <= 0) throw_errno("copy ns-run into a memfd");
        left -= n;
    }
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        throw_errno("seal the ns-run copy");
    return mem;
}
} // namespace

bool exe_is_protected() {
    int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    UniqueFd exe(fd);
    struct statvfs st {};
    if (::fstatvfs(fd, &st) == 0 && (st.f_flag & ST_RDONLY)) return true;
    int seals = ::fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_WRITE);
}

void ensure_protected_exe(char** argv) {
    if (exe_is_protected()) {
        ::unsetenv(reexec_marker);
        return;
    }
    if (std::getenv(reexec_marker))
        throw Error("ns-run runs from a copy of itself that is not read-only (CVE-2019-5736 "
                    "protection failed)",
                    ErrorKind::failed);
    UniqueFd clone = readonly_clone();
    if (clone) exec_fd(clone.get(), argv);
    UniqueFd copy = sealed_copy();
    exec_fd(copy.get(), argv);
}

} // namespace ctk::container
