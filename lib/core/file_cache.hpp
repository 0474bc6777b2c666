// Values parsed from files, kept while each file stays the one that was read:
// same inode, size, modification and change time. For files that are replaced
// by rename and never written in place (the store's records, ns-run's state),
// so a long-lived reader (ctld listing containers) parses only what changed.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "core/fd.hpp"
#include "core/fs.hpp"

namespace ctk {

// Off by default: a one-shot tool reads each file once, and keeping a copy
// would only cost it time. A daemon turns it on.
inline std::atomic<bool> file_caches_on{false};

template <typename T> class FileCache {
public:
    // parse(text) of the file at `path` (at most max_size bytes), or the value
    // parsed last time when the file is the same (shared, never copied); null
    // when it does not exist.
    template <typename Parse>
    std::shared_ptr<const T> load(const std::string& path, size_t max_size, Parse parse) {
        struct stat st {};
        if (file_caches_on) {
            // the same file as last time: known without opening it
            if (::stat(path.c_str(), &st) < 0) return nullptr;
            std::lock_guard<std::mutex> l(mutex_);
            auto it = values_.find(path);
            if (it != values_.end() && it->second.first == stamp_of(st)) return it->second.second;
        }
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return nullptr;
        if (!file_caches_on) return std::make_shared<const T>(parse(read_fd(fd.get(), max_size)));
        if (::fstat(fd.get(), &st) < 0) return nullptr; // the stamp of the file read, which may be newer
        auto value = std::make_shared<const T>(parse(read_fd(fd.get(), max_size)));
        std::lock_guard<std::mutex> l(mutex_);
        values_[path] = {stamp_of(st), value};
        return value;
    }
    // Forgets the files not named here (objects that are gone).
    void keep_only(const std::set<std::string>& paths) {
        std::lock_guard<std::mutex> l(mutex_);
        std::erase_if(values_, [&](const auto& e) { return !paths.count(e.first); });
    }

private:
    struct Stamp {
        ino_t ino = 0;
        off_t size = 0;
        int64_t mtime = 0, ctime = 0;
        bool operator==(const Stamp&) const = default;
    };
    static Stamp stamp_of(const struct stat& st) {
        return {st.st_ino, st.st_size, st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
                st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec};
    }
    std::mutex mutex_;
    std::map<std::string, std::pair<Stamp, std::shared_ptr<const T>>> values_;
};

} // namespace ctk
