#include "container/channel.hpp"

#include "core/strings.hpp"
#include "linux/console.hpp"

namespace ctk::container {

std::pair<Channel, Channel> Channel::pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
    return {Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1]))};
}

void Channel::send(Msg type, std::string_view payload, int fd) {
    std::string data(1, static_cast<char>(type));
    data += payload;
    ssize_t n = linux::send_message(fd_.get(), data, fd);
    if (n < 0) throw_errno("sync with the container process");
}

Message Channel::receive() {
    Message m;
    std::string buf(65536, '\0');
    ssize_t n = linux::receive_message(fd_.get(), buf, m.fd);
    if (n < 0) {
        if (errno == ECONNRESET) return m;
        throw_errno("sync with the container process");
    }
    if (n == 0) return m;
    m.type = static_cast<Msg>(buf[0]);
    m.payload.assign(buf.data() + 1, static_cast<size_t>(n - 1));
    return m;
}

[[noreturn]] static void throw_peer_error(const Message& m, std::string_view what);

Message Channel::expect(Msg type, std::string_view what) {
    Message m = receive();
    if (m.type == type) return m;
    throw_peer_error(m, what);
}

Message Channel::expect_any(std::string_view what) {
    Message m = receive();
    if (m.type != Msg::error && m.type != Msg::eof) return m;
    throw_peer_error(m, what);
}

std::string error_payload(const Error& e) {
    return std::to_string(static_cast<int>(e.kind())) + std::to_string(e.error_number()) + ":" + e.what();
}

Error error_from_payload(std::string_view payload) {
    // "<kind digit><errno>:<message>"
    ErrorKind kind = ErrorKind::failed;
    int err = 0;
    std::string text(payload);
    auto colon = text.find(':');
    if (colon != std::string::npos && colon >= 1) {
        int k = text[0] - '0';
        if (k >= 1 && k <= 6) kind = static_cast<ErrorKind>(k);
        err = static_cast<int>(parse_uint(text.substr(1, colon - 1)).value_or(0));
        text = text.substr(colon + 1);
    }
    return Error(text, kind, err);
}

static void throw_peer_error(const Message& m, std::string_view what) {
    if (m.type == Msg::error) throw error_from_payload(m.payload);
    if (m.type == Msg::eof)
        throw Error(std::string(what) + ": the container process exited unexpectedly", ErrorKind::failed);
    throw Error(std::string(what) + ": unexpected message from the container process", ErrorKind::failed);
}

void Channel::send_error(const Error& e) noexcept {
    try {
        send(Msg::error, error_payload(e));
    } catch (...) {
    }
}

} // namespace ctk::container
