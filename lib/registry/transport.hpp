// One HTTP exchange, and the interface that carries it. The registry client
// (client.hpp) decides about authentication, redirects and retries; a
// Transport only sends one request and reports what came back. CurlTransport
// is the real one (libcurl, one connection kept alive per transport); unit
// tests plug in a fake.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace ctk::registry {

struct Request {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;          // sent when upload_fd < 0 (POST/PUT/PATCH bodies, forms)
    int upload_fd = -1;        // else the body is `upload_length` bytes of this file
    uint64_t upload_offset = 0;
    uint64_t upload_length = 0;
    // TLS for https URLs.
    bool insecure = false;
    std::string ca_file;
    bool no_proxy = false;     // loopback registries never go through a proxy

    void set_header(std::string name, std::string value);
    std::string header(std::string_view name) const;
    void remove_header(std::string_view name);
};

struct Response {
    long status = 0;
    std::vector<std::pair<std::string, std::string>> headers; // names in lower case
    std::string body;          // unless a BodySink took it (see Transport::perform)
    bool body_truncated = false;

    // The first header of that name ("" when absent); `name` in lower case.
    std::string header(std::string_view name) const;
    std::vector<std::string> header_values(std::string_view name) const;
    bool ok() const noexcept { return status >= 200 && status < 300; }
    bool redirect() const noexcept {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }
};

// Receives the body of a 2xx response as it arrives. Returning false stops the
// transfer (Transport::perform then throws TransportError::Kind::aborted); an
// exception it throws stops it too and comes out of perform().
using BodySink = std::function<bool(const Response& head, std::string_view chunk)>;

// A failure below HTTP: no connection, a reset, a timeout, TLS.
class TransportError : public Error {
public:
    enum class Kind { connect, reset, timeout, tls, resolve, aborted, too_large, other };
    TransportError(Kind kind, std::string message)
        : Error(std::move(message), ErrorKind::remote), kind_(kind) {}
    Kind transport_kind() const noexcept { return kind_; }
    // Worth another attempt: resets, timeouts, refused connections.
    bool transient() const noexcept {
        return kind_ == Kind::connect || kind_ == Kind::reset || kind_ == Kind::timeout;
    }

private:
    Kind kind_;
};

class Transport {
public:
    virtual ~Transport() = default;
    // Sends `req`. A 2xx body goes to `sink` when one is given; any other body
    // (error documents, small documents) is kept in Response::body, at most
    // `max_body` bytes (more: TransportError too_large, unless the status is
    // not 2xx, where the rest is dropped and body_truncated set).
    virtual Response perform(const Request& req, const BodySink* sink, size_t max_body) = 0;
};

using TransportFactory = std::function<std::unique_ptr<Transport>()>;

// libcurl. Not thread-safe: one per thread.
std::unique_ptr<Transport> make_curl_transport();

// Percent-encodes for a query value.
std::string url_encode(std::string_view s);
// "scheme://authority" of a URL (lower-cased, default port made explicit), to
// compare origins.
std::string url_origin(std::string_view url);
// Resolves a Location header against the URL it answered.
std::string resolve_url(std::string_view base, std::string_view location);
// Appends "name=value" to a URL's query.
std::string add_query(std::string_view url, std::string_view name, std::string_view value);

} // namespace ctk::registry
