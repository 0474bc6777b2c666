// Terminals and file-descriptor passing: the pty of a container with
// "terminal": true, the console socket that receives its master (runc's
// --console-socket protocol: one SCM_RIGHTS message, the pty's name as data),
// window sizes and raw mode for the foreground proxy.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/fd.hpp"

namespace ctk::linux {

struct Pty {
    UniqueFd master;
    UniqueFd slave;
    std::string slave_name; // "/dev/pts/0" as seen where ptmx was opened
};

// Opens a new pty through `ptmx_path` (the container's /dev/ptmx after the
// pivot, so the pty belongs to its devpts); the slave is opened from the
// master (TIOCGPTPEER), not by path.
Pty open_pty(const std::string& ptmx_path = "/dev/ptmx");

// One message over a UNIX socket, with `fd` attached as SCM_RIGHTS when it is
// >= 0, and to the address `to` when given (a datagram socket's peer).
// Retries EINTR; returns sendmsg's result (-1 with errno set on failure).
ssize_t send_message(int sock, std::string_view data, int fd = -1, const sockaddr_un* to = nullptr,
                     socklen_t to_len = 0);
// Receives one message into `buf`; the first fd it carries goes to *fd, any
// others are closed. Retries EINTR; returns recvmsg's result (-1 with errno).
ssize_t receive_message(int sock, std::span<char> buf, UniqueFd& fd);

// One fd over a UNIX socket with `payload` as the message data.
void send_fd(int sock, int fd, std::string_view payload);
// Receives one fd (and the payload into *payload when given).
UniqueFd receive_fd(int sock, std::string* payload = nullptr);

// connect(2) to a UNIX stream socket path.
UniqueFd connect_unix(const std::string& path);

struct WinSize {
    unsigned short rows = 0, cols = 0;
};
std::optional<WinSize> window_size(int fd);
void set_window_size(int fd, const WinSize& size);

// Raw mode on a terminal for the lifetime of the object (restored on exit).
class RawTerminal {
public:
    RawTerminal() = default;
    explicit RawTerminal(int fd);
    RawTerminal(RawTerminal&& o) noexcept : fd_(o.fd_), saved_(o.saved_) { o.fd_ = -1; }
    RawTerminal& operator=(RawTerminal&&) = delete;
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;
    ~RawTerminal();

private:
    int fd_ = -1;
    termios saved_ {};
};

} // namespace ctk::linux
