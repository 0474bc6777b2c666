#include "linux/console.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"

namespace ctk::linux {

Pty open_pty(const std::string& ptmx_path) {
    Pty pty;
    int m = ::open(ptmx_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) throw_errno("open", ptmx_path);
    pty.master.reset(m);
    if (::unlockpt(m) < 0) throw_errno("unlockpt", ptmx_path);
    int s = ::ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) throw_errno("open the pty slave of", ptmx_path);
    pty.slave.reset(s);
    int n = 0;
    if (::ioctl(m, TIOCGPTN, &n) < 0) throw_errno("query the pty number of", ptmx_path);
    pty.slave_name = "/dev/pts/" + std::to_string(n);
    return pty;
}

ssize_t send_message(int sock, std::string_view data, int fd, const sockaddr_un* to, socklen_t to_len) {
    iovec iov {const_cast<char*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg {};
    msg.msg_name = const_cast<sockaddr_un*>(to);
    msg.msg_namelen = to ? to_len : 0;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do {
        n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t receive_message(int sock, std::span<char> buf, UniqueFd& fd) {
    iovec iov {buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
    msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int f;
            std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (!fd) fd.reset(f);
            else ::close(f);
        }
    }
    return n;
}

void send_fd(int sock, int fd, std::string_view payload) {
    // a message with no data does not carry its ancillary data on a stream socket
    if (send_message(sock, payload.empty() ? std::string_view("\0", 1) : payload, fd) < 0)
        throw_errno("send a file descriptor");
}

UniqueFd receive_fd(int sock, std::string* payload) {
    char buf[4096];
    UniqueFd fd;
    ssize_t n = receive_message(sock, buf, fd);
    if (n < 0) throw_errno("receive a file descriptor");
    if (!fd) throw Error(n == 0 ? "the peer closed the socket before sending a file descriptor"
                                : "no file descriptor in the message",
                         ErrorKind::failed);
    if (payload) payload->assign(buf, static_cast<size_t>(n));
    return fd;
}

UniqueFd connect_unix(const std::string& path) {
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw_invalid("socket path " + quote(path) + " is too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    UniqueFd sock(fd);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw_errno("connect to", path);
    return sock;
}

std::optional<WinSize> window_size(int fd) {
    winsize ws {};
    if (::ioctl(fd, TIOCGWINSZ, &ws) < 0) return std::nullopt;
    return WinSize{ws.ws_row, ws.ws_col};
}

void set_window_size(int fd, const WinSize& size) {
    winsize ws {};
    ws.ws_row = size.rows;
    ws.ws_col = size.cols;
    if (::ioctl(fd, TIOCSWINSZ, &ws) < 0) throw_errno("set the terminal size");
}

RawTerminal::RawTerminal(int fd) {
    if (::tcgetattr(fd, &saved_) < 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) fd_ = fd;
}

RawTerminal::~RawTerminal() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
}

} // namespace ctk::linux
