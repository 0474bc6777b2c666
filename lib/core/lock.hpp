// FileLock: an flock(2) held for the owner's lifetime. Tools working on one
// store at once (two pulls, two attaches) serialise on lock files with it.
#pragma once

#include <string>

#include "core/fd.hpp"

namespace ctk {

class FileLock {
public:
    enum class Mode { shared, exclusive };

    FileLock() = default;
    // Opens (creating if needed, mode 0600) and locks `path`; blocks until the lock is free.
    explicit FileLock(const std::string& path, Mode mode = Mode::exclusive);
    // Returns an unlocked FileLock when someone else holds it.
    static FileLock try_lock(const std::string& path, Mode mode = Mode::exclusive);

    bool locked() const noexcept { return static_cast<bool>(fd_); }
    void unlock() noexcept { fd_.reset(); }

private:
    UniqueFd fd_;
};

} // namespace ctk
