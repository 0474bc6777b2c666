#include "core/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include "core/error.hpp"

namespace ctk {

// On a read-only mount (ctl --explain's view of the store) the lock file is
// opened for reading, which flock allows; one that does not exist yet guards
// nothing a read-only view could change, and is not made: the lock is empty.
static UniqueFd open_lock_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EROFS) {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) return UniqueFd();
    }
    if (fd < 0) throw_errno("open lock", path);
    return UniqueFd(fd);
}

FileLock::FileLock(const std::string& path, Mode mode) : fd_(open_lock_file(path)) {
    int op = mode == Mode::shared ? LOCK_SH : LOCK_EX;
    while (fd_ && ::flock(fd_.get(), op) < 0) {
        if (errno != EINTR) throw_errno("lock", path);
    }
}

FileLock FileLock::try_lock(const std::string& path, Mode mode) {
    FileLock lock;
    UniqueFd fd = open_lock_file(path);
    if (!fd) return lock;
    int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
    if (::flock(fd.get(), op) == 0) {
        lock.fd_ = std::move(fd);
    } else if (errno != EWOULDBLOCK) {
        throw_errno("lock", path);
    }
    return lock;
}

} // namespace ctk
