// The runtime and the container's first process talk over a SOCK_SEQPACKET
// socket pair: one message per step ("maps written", "ready for hooks",
// "created", "start", "error: ..."), file descriptors passed with SCM_RIGHTS.
// The container's end is close-on-exec, so end-of-file tells the runtime that
// the user's program has been executed.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace ctk::container {

enum class Msg : char {
    go = 'G',       // runtime -> init: id maps / cgroups are in place, continue
    hooks = 'H',    // init -> runtime: run createRuntime hooks now (runtime answers go)
    ready = 'R',    // init -> runtime: created; may carry the pty master
    start = 'S',    // runtime -> init: execute the process now
    error = 'E',    // init -> runtime: failed; payload = message, then it exits
    eof = 0,        // the peer closed its end (exec succeeded, or it died)
};

struct Message {
    Msg type = Msg::eof;
    std::string payload;
    UniqueFd fd;
};

// An Error as bytes and back (kind, errno and message survive).
std::string error_payload(const Error& e);
Error error_from_payload(std::string_view payload);

class Channel {
public:
    Channel() = default;
    explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}
    // Both ends, close-on-exec.
    static std::pair<Channel, Channel> pair();

    void send(Msg type, std::string_view payload = {}, int fd = -1);
    Message receive();
    // Receives and checks the type; an error message from the peer is rethrown
    // as a ctk::Error with the peer's text; end-of-file throws with `what`.
    Message expect(Msg type, std::string_view what);
    // Receives anything but an error or end-of-file (those throw as in expect).
    Message expect_any(std::string_view what);
    // Reports an error to the peer (best effort).
    void send_error(const Error& e) noexcept;

    int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }
    explicit operator bool() const { return static_cast<bool>(fd_); }

private:
    UniqueFd fd_;
};

} // namespace ctk::container
