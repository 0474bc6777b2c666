#include "api/hub.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/error.hpp"

namespace ctk::api {

Wakeup::Wakeup() : efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!efd_) throw_errno("eventfd");
}

void Wakeup::notify() {
    uint64_t one = 1;
    (void)!::write(efd_.get(), &one, sizeof one);
}

void Wakeup::clear() {
    uint64_t v;
    while (::read(efd_.get(), &v, sizeof v) > 0) {
    }
}

std::shared_ptr<void> Hub::listen(const std::string& id, std::shared_ptr<Wakeup> w) {
    std::lock_guard<std::mutex> l(m_);
    auto it = listeners_.emplace(id, w);
    (void)it;
    // The handle removes expired entries of this id when it goes.
    return std::shared_ptr<void>(nullptr, [this, id, keep = w](void*) mutable {
        std::lock_guard<std::mutex> l2(m_);
        auto [lo, hi] = listeners_.equal_range(id);
        for (auto i = lo; i != hi;) {
            auto p = i->second.lock();
            if (!p || p == keep) i = listeners_.erase(i);
            else ++i;
        }
    });
}

ContainerSignals Hub::get(const std::string& id) {
    std::lock_guard<std::mutex> l(m_);
    auto it = signals_.find(id);
    return it == signals_.end() ? ContainerSignals{} : it->second;
}

void Hub::notify(const std::string& id) {
    std::vector<std::shared_ptr<Wakeup>> wake;
    {
        std::lock_guard<std::mutex> l(m_);
        auto [lo, hi] = listeners_.equal_range(id);
        for (auto i = lo; i != hi; ++i)
            if (auto p = i->second.lock()) wake.push_back(p);
    }
    for (auto& w : wake) w->notify();
}

void Hub::started(const std::string& id) {
    {
        std::lock_guard<std::mutex> l(m_);
        auto& s = signals_[id];
        s.starts++;
        s.removed = false;
    }
    notify(id);
}

void Hub::exited(const std::string& id, int code) {
    {
        std::lock_guard<std::mutex> l(m_);
        auto& s = signals_[id];
        s.exits++;
        s.exit_code = code;
    }
    notify(id);
}

void Hub::removed(const std::string& id) {
    {
        std::lock_guard<std::mutex> l(m_);
        signals_[id].removed = true;
    }
    notify(id);
    // keep the entry briefly useful to late waiters, but bound the map: the
    // entries of removed containers nobody waits for go once there are 256
    std::lock_guard<std::mutex> l(m_);
    if (++removed_since_sweep_ >= 256) {
        removed_since_sweep_ = 0;
        for (auto it = signals_.begin(); it != signals_.end();) {
            if (it->second.removed && !listeners_.count(it->first)) it = signals_.erase(it);
            else ++it;
        }
    }
}

void Hub::poke(const std::string& id) { notify(id); }

// ---------------------------------------------------------------- exit watcher

namespace {
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
} // namespace

ExitWatcher::ExitWatcher(std::function<void(const std::string&)> on_exit)
    : on_exit_(std::move(on_exit)), epoll_(::epoll_create1(EPOLL_CLOEXEC)), stop_(::eventfd(0, EFD_CLOEXEC)) {
    if (!epoll_ || !stop_) throw_errno("epoll");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = stop_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stop_.get(), &ev);
    thread_ = std::thread([this] { loop(); });
}

ExitWatcher::~ExitWatcher() {
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
}

bool ExitWatcher::watching(const std::string& id) {
    std::lock_guard<std::mutex> l(m_);
    return ids_.count(id) > 0;
}

void ExitWatcher::watch(const std::string& id, pid_t pid) {
    {
        std::lock_guard<std::mutex> l(m_);
        if (ids_.count(id)) return;
        int fd = pid > 0 ? pidfd_open(pid) : -1;
        if (fd >= 0) {
            ids_.insert(id);
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            by_fd_.emplace(fd, std::make_pair(id, UniqueFd(fd)));
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
            return;
        }
    }
    // already gone
    std::thread([cb = on_exit_, id] {
        try {
            cb(id);
        } catch (const std::exception&) {
            // (a missing or failing ns-run) must not end the daemon: the exit is seen again at the next look
        }
    }).detach();
}

void ExitWatcher::loop() {
    for (;;) {
        epoll_event evs[32];
        int n = ::epoll_wait(epoll_.get(), evs, 32, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == stop_.get()) return;
            std::string id;
            {
                std::lock_guard<std::mutex> l(m_);
                auto it = by_fd_.find(fd);
                if (it == by_fd_.end()) continue;
                id = it->second.first;
                ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
                by_fd_.erase(it);
                ids_.erase(id);
            }
            std::thread([cb = on_exit_, id] {
        try {
            cb(id);
        } catch (const std::exception&) {
            // (a missing or failing ns-run) must not end the daemon: the exit is seen again at the next look
        }
    }).detach();
        }
    }
}

} // namespace ctk::api
