#include "container/notify.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/console.hpp"

namespace ctk::container {

namespace {

// sockaddr_un for a path or an abstract name (@name, as systemd writes it).
// A path too long for sun_path goes through its directory's fd
// (/proc/self/fd/N/name); `dir` keeps that fd open while it is used.
socklen_t notify_address(const std::string& where, sockaddr_un& addr, UniqueFd& dir) {
    addr = {};
    addr.sun_family = AF_UNIX;
    std::string path = where;
    if (!path.empty() && path[0] == '@') {
        if (path.size() > sizeof addr.sun_path) throw_invalid("NOTIFY_SOCKET " + quote(where) + " is too long");
        std::memcpy(addr.sun_path + 1, path.data() + 1, path.size() - 1);
        return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    }
    if (path.empty() || path[0] != '/') throw_invalid("NOTIFY_SOCKET " + quote(where) + " is not absolute");
    if (path.size() >= sizeof addr.sun_path) {
        size_t slash = path.rfind('/');
        dir = open_path(slash == 0 ? "/" : path.substr(0, slash), O_PATH | O_DIRECTORY);
        path = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + path.substr(slash + 1);
        if (path.size() >= sizeof addr.sun_path) throw_invalid("socket name " + quote(where) + " is too long");
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return static_cast<socklen_t>(sizeof addr);
}

void send_to_host(int sock, const std::string& host, std::string_view message, int pass_fd = -1) {
    sockaddr_un addr;
    UniqueFd dir;
    socklen_t len = notify_address(host, addr, dir);
    if (linux::send_message(sock, message, pass_fd, &addr, len) < 0) throw_errno("send to NOTIFY_SOCKET", host);
}

// sd_notify_barrier(3): a pipe's write end goes with BARRIER=1; systemd closes
// it once it has handled everything sent before. runc waits 30 s for it.
void barrier(int sock, const std::string& host) {
    UniqueFd r, w;
    make_pipe(r, w);
    send_to_host(sock, host, "BARRIER=1", w.get());
    w.reset();
    pollfd pf {r.get(), POLLIN, 0};
    for (;;) {
        int n = ::poll(&pf, 1, 30000);
        if (n >= 0 || errno != EINTR) return; // closed, or a manager without barriers: go on
    }
}

} // namespace

std::string notify_dir(const std::string& state_dir) { return state_dir + "/notify"; }

void add_notify_socket(oci::Spec& spec, const std::string& state_dir) {
    oci::Mount m;
    m.destination = "/run/notify";
    m.type = "bind";
    m.source = notify_dir(state_dir);
    m.options = {"bind", "nosuid", "noexec", "nodev", "ro"};
    spec.mounts.push_back(std::move(m));
    if (!spec.process) return;
    auto& env = spec.process->env;
    std::erase_if(env, [](const std::string& e) { return e.starts_with("NOTIFY_SOCKET="); });
    env.push_back(std::string("NOTIFY_SOCKET=") + notify_socket_in_container);
}

NotifyRelay NotifyRelay::listen(const std::string& state_dir, std::string host) {
    std::string dir = notify_dir(state_dir);
    if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", dir);
    UniqueFd dfd = open_path(dir, O_PATH | O_DIRECTORY);
    std::string name = "/proc/self/fd/" + std::to_string(dfd.get()) + "/notify.sock";
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
    NotifyRelay r;
    r.host_ = std::move(host);
    r.sock_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!r.sock_) throw_errno("socket");
    std::string path = dir + "/notify.sock";
    ::unlink(path.c_str()); // left by an earlier start that failed
    if (::bind(r.sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw_errno("bind", path);
    if (::fchmodat(dfd.get(), "notify.sock", 0777, 0) < 0) throw_errno("chmod", path);
    return r;
}

bool NotifyRelay::receive(pid_t main_pid, bool with_barrier) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(sock_.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return false;
            throw_errno("receive on", notify_socket_in_container);
        }
        // One datagram is one notification (sd_notify(3)); a line of it
        // starting READY= makes it the one to pass on. The container's own
        // MAINPID, BARRIER and file descriptors mean nothing to the host.
        std::string forward;
        bool ready = false;
        for (const auto& line : split(std::string_view(buf, static_cast<size_t>(n)), '\n')) {
            if (line.empty() || line.starts_with("MAINPID=") || line.starts_with("BARRIER=") ||
                line.starts_with("FDSTORE"))
                continue;
            if (line.starts_with("READY=")) ready = true;
            forward += line;
            forward += '\n';
        }
        if (!ready) continue;
        UniqueFd out(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!out) throw_errno("socket");
        send_to_host(out.get(), host_, forward + "MAINPID=" + std::to_string(main_pid) + "\n");
        if (with_barrier) barrier(out.get(), host_);
        return true;
    }
}

bool NotifyRelay::wait(int pidfd, pid_t main_pid) {
    for (;;) {
        pollfd p[2] = {{sock_.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
        int r = ::poll(p, 2, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if ((p[0].revents & POLLIN) && receive(main_pid, true)) return true;
        if (p[1].revents) return false;
    }
}

} // namespace ctk::container
