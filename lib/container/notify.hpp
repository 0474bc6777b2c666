// sd_notify through a container, as runc does it (runc's notify_socket.go):
// when ns-run is given NOTIFY_SOCKET (a systemd unit of Type=notify), the
// container gets its own socket instead of the host's. create/run bind-mount
// <state>/<id>/notify at /run/notify (ro, nosuid, noexec, nodev) and set
// NOTIFY_SOCKET=/run/notify/notify.sock in the process's environment; ns-run
// listens on <state>/<id>/notify/notify.sock and, when the container sends
// READY=…, passes it on to the host's socket with MAINPID (the container's
// process for run -d and start, ns-run itself for a foreground run) and, when
// ns-run is about to exit, a BARRIER=1 that systemd acknowledges, so the new
// main pid is known before ns-run's exit is seen.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::container {

inline constexpr const char* notify_socket_in_container = "/run/notify/notify.sock";

// <state_dir>/notify: where the container's socket lives.
std::string notify_dir(const std::string& state_dir);

// The bind mount of notify_dir(state_dir) at /run/notify and NOTIFY_SOCKET in
// the process's environment (replacing one the config had).
void add_notify_socket(oci::Spec& spec, const std::string& state_dir);

class NotifyRelay {
public:
    NotifyRelay() = default;
    // Binds notify_dir(state_dir)/notify.sock (mode 0777: any user of the
    // container may send; the directory is the container's only way in).
    // `host`: the NOTIFY_SOCKET ns-run was given (a path, or @name: abstract).
    static NotifyRelay listen(const std::string& state_dir, std::string host);

    explicit operator bool() const { return static_cast<bool>(sock_); }
    int fd() const { return sock_.get(); }

    // Reads what is waiting on the socket; on READY=… sends it to the host
    // with MAINPID=main_pid (and waits for systemd's BARRIER acknowledgement
    // when `barrier`) and returns true: the relay has done its job.
    bool receive(pid_t main_pid, bool barrier);

    // Blocks until the container sends READY= (relayed: true) or the process
    // behind pidfd exits (false).
    bool wait(int pidfd, pid_t main_pid);

private:
    UniqueFd sock_;
    std::string host_;
};

} // namespace ctk::container
