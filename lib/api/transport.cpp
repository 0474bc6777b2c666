#include "api/transport.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::api {

namespace {

class PlainTransport final : public Transport {
public:
    PlainTransport(UniqueFd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {}
    int fd() const override { return fd_.get(); }
    size_t read_some(void* buf, size_t n) override {
        for (;;) {
            ssize_t r = ::recv(fd_.get(), buf, n, 0);
            if (r >= 0) return static_cast<size_t>(r);
            if (errno == EINTR) continue;
            if (errno == ECONNRESET) return 0;
            throw_errno("read from", peer_);
        }
    }
    void write_all(std::string_view data) override {
        while (!data.empty()) {
            ssize_t w = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR) continue;
                throw_errno("write to", peer_);
            }
            data.remove_prefix(static_cast<size_t>(w));
        }
    }
    void close_write() override { ::shutdown(fd_.get(), SHUT_WR); }
    std::string peer() const override { return peer_; }

private:
    UniqueFd fd_;
    std::string peer_;
};

std::string ssl_error_text() {
    unsigned long e = ERR_get_error();
    if (!e) return "TLS failure";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

class TlsTransport final : public Transport {
public:
    TlsTransport(SSL* ssl, UniqueFd fd, std::string peer) : ssl_(ssl), fd_(std::move(fd)), peer_(std::move(peer)) {}
    ~TlsTransport() override { SSL_free(ssl_); }
    int fd() const override { return fd_.get(); }
    size_t read_some(void* buf, size_t n) override {
        for (;;) {
            int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1 << 30)));
            if (r > 0) return static_cast<size_t>(r);
            int e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_ZERO_RETURN) return 0;
            if (e == SSL_ERROR_SYSCALL && (errno == EINTR)) continue;
            if (e == SSL_ERROR_SYSCALL && (errno == 0 || errno == ECONNRESET)) return 0;
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
            throw Error("read from " + peer_ + ": " + ssl_error_text());
        }
    }
    void write_all(std::string_view data) override {
        while (!data.empty()) {
            int w = SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
            if (w > 0) {
                data.remove_prefix(static_cast<size_t>(w));
                continue;
            }
            int e = SSL_get_error(ssl_, w);
            if (e == SSL_ERROR_SYSCALL && errno == EINTR) continue;
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
            throw Error("write to " + peer_ + ": " + ssl_error_text());
        }
    }
    bool buffered() const override { return SSL_pending(ssl_) > 0; }
    void close_write() override {
        SSL_shutdown(ssl_); // close_notify: the peer reads end of stream
        ::shutdown(fd_.get(), SHUT_WR);
    }
    std::string peer() const override { return peer_; }

private:
    SSL* ssl_;
    UniqueFd fd_;
    std::string peer_;
};

void set_io_timeout(int fd, int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

} // namespace

std::unique_ptr<Transport> plain_transport(UniqueFd fd, std::string peer) {
    return std::make_unique<PlainTransport>(std::move(fd), std::move(peer));
}

// ---------------------------------------------------------------- TLS

TlsContext::TlsContext(TlsContext&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
TlsContext& TlsContext::operator=(TlsContext&& o) noexcept {
    if (this != &o) {
        if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
        ctx_ = std::exchange(o.ctx_, nullptr);
    }
    return *this;
}
TlsContext::~TlsContext() {
    if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

namespace {
SSL_CTX* make_ctx(const TlsFiles& f, bool server) {
    SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) throw Error("TLS: " + ssl_error_text());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    auto fail = [&](const std::string& what, const std::string& file) {
        std::string m = ssl_error_text();
        SSL_CTX_free(ctx);
        throw Error("TLS " + what + " " + quote(file) + ": " + m, ErrorKind::invalid);
    };
    if (SSL_CTX_load_verify_locations(ctx, f.ca.c_str(), nullptr) != 1) fail("CA certificate", f.ca);
    if (SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1) fail("certificate", f.cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM) != 1) fail("key", f.key);
    if (SSL_CTX_check_private_key(ctx) != 1) fail("key (does not match the certificate)", f.key);
    // Mutual TLS: a server refuses a client without a certificate from the CA.
    SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
    return ctx;
}
} // namespace

TlsContext TlsContext::server(const TlsFiles& files) {
    TlsContext c;
    c.ctx_ = make_ctx(files, true);
    return c;
}

TlsContext TlsContext::client(const TlsFiles& files) {
    TlsContext c;
    c.ctx_ = make_ctx(files, false);
    return c;
}

std::unique_ptr<Transport> TlsContext::accept(UniqueFd fd, std::string peer) const {
    SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
    if (!ssl) throw Error("TLS: " + ssl_error_text());
    SSL_set_fd(ssl, fd.get());
    set_io_timeout(fd.get(), 30); // a handshake that stalls ends
    if (SSL_accept(ssl) != 1) {
        std::string m = ssl_error_text();
        SSL_free(ssl);
        throw Error("TLS handshake with " + peer + ": " + m, ErrorKind::remote);
    }
    set_io_timeout(fd.get(), 0);
    return std::make_unique<TlsTransport>(ssl, std::move(fd), std::move(peer));
}

std::unique_ptr<Transport> TlsContext::connect(UniqueFd fd, const std::string& host) const {
    SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
    if (!ssl) throw Error("TLS: " + ssl_error_text());
    SSL_set_fd(ssl, fd.get());
    SSL_set_tlsext_host_name(ssl, host.c_str());
    in6_addr a6;
    in_addr a4;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1)
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    else
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (SSL_connect(ssl) != 1) {
        std::string m = ssl_error_text();
        SSL_free(ssl);
        throw Error("TLS handshake with " + host + ": " + m, ErrorKind::remote);
    }
    return std::make_unique<TlsTransport>(ssl, std::move(fd), "tcp " + host);
}

// ---------------------------------------------------------------- endpoints

std::string Endpoint::str() const {
    if (kind == Kind::unix_socket) return "unix://" + path;
    bool v6 = host.find(':') != std::string::npos;
    return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool Endpoint::loopback() const {
    if (kind != Kind::tcp) return false;
    if (host == "localhost" || host == "::1") return true;
    in_addr a;
    return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

Endpoint parse_endpoint(std::string_view s) {
    Endpoint e;
    if (s.rfind("unix://", 0) == 0 || (!s.empty() && s[0] == '/')) {
        e.kind = Endpoint::Kind::unix_socket;
        e.path = std::string(s[0] == '/' ? s : s.substr(7));
        if (e.path.empty() || e.path[0] != '/')
            throw Error("bad address " + quote(s) + ": a UNIX socket needs an absolute path", ErrorKind::usage);
        if (e.path.size() >= sizeof(sockaddr_un::sun_path))
            throw Error("bad address " + quote(s) + ": the socket path is too long", ErrorKind::usage);
        return e;
    }
    if (s.rfind("tcp://", 0) != 0)
        throw Error("bad address " + quote(s) + ": expected unix:///path or tcp://host:port", ErrorKind::usage);
    std::string rest(s.substr(6));
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    std::string host, port;
    if (!rest.empty() && rest[0] == '[') {
        auto close = rest.find(']');
        if (close == std::string::npos) throw Error("bad address " + quote(s), ErrorKind::usage);
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
    } else {
        auto colon = rest.rfind(':');
        host = colon == std::string::npos ? rest : rest.substr(0, colon);
        if (colon != std::string::npos) port = rest.substr(colon + 1);
    }
    auto p = parse_uint(port);
    if (host.empty() || !p || *p == 0 || *p > 65535)
        throw Error("bad address " + quote(s) + ": expected tcp://host:port", ErrorKind::usage);
    e.kind = Endpoint::Kind::tcp;
    e.host = host;
    e.port = static_cast<int>(*p);
    return e;
}

namespace {
sockaddr_storage resolve(const Endpoint& e, socklen_t& len) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    // Only numeric addresses and localhost: a daemon address never needs DNS.
    std::string host = e.host == "localhost" ? "127.0.0.1" : e.host;
    hints.ai_flags |= AI_NUMERICHOST;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), std::to_string(e.port).c_str(), &hints, &res);
    if (rc != 0 || !res)
        throw Error("address " + quote(e.str()) + ": " + (rc ? gai_strerror(rc) : "no address") +
                        " (give a numeric IP address)",
                    ErrorKind::usage);
    sockaddr_storage ss{};
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    ::freeaddrinfo(res);
    return ss;
}

// A UNIX stream socket, and the address of `path` for it.
UniqueFd unix_stream_socket(const std::string& path, sockaddr_un& a) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    a = {};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    return s;
}
} // namespace

UniqueFd listen_on(const Endpoint& e) {
    if (e.kind == Endpoint::Kind::unix_socket) {
        sockaddr_un a;
        UniqueFd s = unix_stream_socket(e.path, a);
        struct stat st;
        if (::lstat(e.path.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) throw_conflict(quote(e.path) + " exists and is not a socket");
            ::unlink(e.path.c_str());
        }
        if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind", e.path);
        if (::listen(s.get(), 512) < 0) throw_errno("listen", e.path);
        return s;
    }
    socklen_t len = 0;
    sockaddr_storage ss = resolve(e, len);
    UniqueFd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) throw_errno("bind", e.str());
    if (::listen(s.get(), 512) < 0) throw_errno("listen", e.str());
    return s;
}

UniqueFd connect_to(const Endpoint& e) {
    if (e.kind == Endpoint::Kind::unix_socket) {
        sockaddr_un a;
        UniqueFd s = unix_stream_socket(e.path, a);
        while (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            throw Error("cannot connect to the ctk daemon at " + e.str() + ": " + errno_text(err) +
                            (err == ENOENT || err == ECONNREFUSED ? ". Is ctld running?" : ""),
                        ErrorKind::remote, err);
        }
        return s;
    }
    socklen_t len = 0;
    sockaddr_storage ss = resolve(e, len);
    UniqueFd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    while (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        throw Error("cannot connect to the ctk daemon at " + e.str() + ": " + errno_text(err), ErrorKind::remote, err);
    }
    int one = 1;
    ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

namespace {

std::string activation_env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

Endpoint bound_endpoint(int fd) {
    sockaddr_storage ss {};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) throw_errno("getsockname of fd", std::to_string(fd));
    Endpoint e;
    if (ss.ss_family == AF_UNIX) {
        const auto* a = reinterpret_cast<const sockaddr_un*>(&ss);
        size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
        std::string path(a->sun_path, n);
        if (!path.empty() && path[0] == '\0') path[0] = '@';
        else path = path.c_str();
        e.path = path;
        return e;
    }
    char host[INET6_ADDRSTRLEN] = {};
    e.kind = Endpoint::Kind::tcp;
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        e.port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        e.port = ntohs(a->sin6_port);
    } else {
        throw Error("fd " + std::to_string(fd) + " from systemd is not a UNIX or TCP socket", ErrorKind::invalid);
    }
    e.host = host;
    return e;
}

} // namespace

std::vector<ActivatedSocket> take_activated_sockets() {
    std::string pid = activation_env("LISTEN_PID"), fds = activation_env("LISTEN_FDS"),
                names = activation_env("LISTEN_FDNAMES");
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    std::vector<ActivatedSocket> out;
    auto p = parse_uint(pid);
    auto n = parse_uint(fds);
    if (!p || !n || *p != static_cast<uint64_t>(::getpid())) return out;
    std::vector<std::string> name_list = names.empty() ? std::vector<std::string>() : split(names, ':');
    constexpr int first = 3; // SD_LISTEN_FDS_START
    for (uint64_t i = 0; i < *n; i++) {
        int fd = first + static_cast<int>(i);
        ActivatedSocket a;
        a.fd.reset(fd);
        if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) throw_errno("fcntl of fd", std::to_string(fd));
        int listening = 0;
        socklen_t len = sizeof listening;
        if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
            throw Error("fd " + std::to_string(fd) + " from systemd is not a listening socket (ctld needs "
                        "ListenStream=, without Accept=yes)", ErrorKind::invalid);
        a.name = i < name_list.size() ? name_list[i] : "";
        a.endpoint = bound_endpoint(fd);
        out.push_back(std::move(a));
    }
    return out;
}

void notify_ready(const std::string& value) {
    if (value.empty()) return;
    sockaddr_un a {};
    a.sun_family = AF_UNIX;
    if (value.size() >= sizeof a.sun_path || (value[0] != '/' && value[0] != '@'))
        throw Error("NOTIFY_SOCKET " + quote(value) + ": not a socket path", ErrorKind::invalid);
    std::memcpy(a.sun_path, value.data(), value.size());
    if (a.sun_path[0] == '@') a.sun_path[0] = '\0';
    UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    std::string msg = "READY=1\nMAINPID=" + std::to_string(::getpid()) + "\n";
    if (::sendto(s.get(), msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&a),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size())) < 0)
        throw_errno("send READY=1 to NOTIFY_SOCKET", value);
}

} // namespace ctk::api
