// The byte streams the Docker API travels over: a connected UNIX or TCP
// socket, plain or wrapped in TLS (mutual: both sides show a certificate
// signed by the configured CA, as dockerd --tlsverify and docker --tlsverify).
// Blocking I/O; the server gives each connection its own thread, so a slow
// peer only ever holds up its own connection.
#pragma once

#include <memory>
#include <string>
#include <vector>
#include <string_view>

#include "core/fd.hpp"

namespace ctk::api {

class Transport {
public:
    virtual ~Transport() = default;
    virtual int fd() const = 0;
    // Up to n bytes; 0 at end of stream. Throws ctk::Error on a reset or a TLS failure.
    virtual size_t read_some(void* buf, size_t n) = 0;
    virtual void write_all(std::string_view data) = 0;
    // Decrypted bytes waiting that poll() on fd() would not show (TLS).
    virtual bool buffered() const { return false; }
    // The write direction ends (shutdown(SHUT_WR)); reading goes on.
    virtual void close_write() = 0;
    // A description for log lines ("unix", "tcp 127.0.0.1:4243").
    virtual std::string peer() const = 0;
};

std::unique_ptr<Transport> plain_transport(UniqueFd fd, std::string peer);

// Certificates for mutual TLS, PEM files.
struct TlsFiles {
    std::string ca, cert, key;
};

// An OpenSSL context; the server side requires a client certificate signed by
// the CA, the client side verifies the server against the CA.
class TlsContext {
public:
    static TlsContext server(const TlsFiles& files);
    static TlsContext client(const TlsFiles& files);
    TlsContext(TlsContext&&) noexcept;
    TlsContext& operator=(TlsContext&&) noexcept;
    ~TlsContext();

    // Handshake on a connected socket (blocking). Throws ctk::Error naming the peer.
    std::unique_ptr<Transport> accept(UniqueFd fd, std::string peer) const;
    std::unique_ptr<Transport> connect(UniqueFd fd, const std::string& host) const;

private:
    TlsContext() = default;
    void* ctx_ = nullptr; // SSL_CTX*
};

// Where a daemon listens or a client connects: unix:///path or tcp://host:port.
struct Endpoint {
    enum class Kind { unix_socket, tcp } kind = Kind::unix_socket;
    std::string path;      // unix
    std::string host;      // tcp
    int port = 0;          // tcp
    std::string str() const;
    bool loopback() const; // tcp on 127.0.0.0/8, ::1 or localhost
};
// Parses "unix:///run/ctk/ctld.sock", "/run/ctk/ctld.sock", "tcp://127.0.0.1:2376",
// "tcp://[::1]:2376"; throws ErrorKind::usage with the reason.
Endpoint parse_endpoint(std::string_view s);

// A listening socket (CLOEXEC). UNIX: an existing socket file is replaced.
UniqueFd listen_on(const Endpoint& e);
// A connected socket (CLOEXEC), blocking.
UniqueFd connect_to(const Endpoint& e);

// systemd socket activation (sd_listen_fds(3)): the listening sockets systemd
// passed as fds 3... when LISTEN_PID is this process, each with its name
// (LISTEN_FDNAMES, systemd's FileDescriptorName=; "" when none) and where it
// is bound. LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are removed and the fds
// made close-on-exec, so that children never take them; call it before any
// thread starts.
struct ActivatedSocket {
    UniqueFd fd;
    std::string name;
    Endpoint endpoint;
};
std::vector<ActivatedSocket> take_activated_sockets();

// sd_notify(3) "READY=1" (and MAINPID) to `socket`, NOTIFY_SOCKET as the
// daemon found it (a systemd unit of Type=notify); nothing when "".
void notify_ready(const std::string& socket);

} // namespace ctk::api
