// HTTP/1.1 on one connection, the way the Docker Engine API uses it:
// keep-alive with many requests in turn (docker-py), chunked bodies both ways
// (build context and `docker cp` tars in, streamed JSON and logs out), and the
// hijack: after "101 UPGRADED" the socket carries raw bytes (attach, exec).
// Boost.Beast parses the requests and formats the response headers; this
// file only adds Docker's conventions on top (standard headers, error shape).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/transport.hpp"
#include "core/json.hpp"

namespace ctk::api {

// An HTTP failure with a status of its own (handlers throw it; ctk::Error
// kinds map to statuses in router.cpp).
class HttpError : public std::runtime_error {
public:
    HttpError(int status, std::string message) : std::runtime_error(std::move(message)), status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

// The query string, decoded ("+" is a space, %XX a byte).
class Query {
public:
    Query() = default;
    explicit Query(std::string_view raw);
    std::optional<std::string> get(const std::string& key) const;
    std::string value(const std::string& key, const std::string& fallback = "") const;
    std::vector<std::string> all(const std::string& key) const;
    bool has(const std::string& key) const { return values_.count(key) > 0; }
    // Docker's boolean query values: "1", "true", "True" (docker-py) are true;
    // "0", "false", "False", "" false; absent gives `fallback`.
    bool flag(const std::string& key, bool fallback = false) const;
    // An integer value; nullopt when absent; HttpError 400 when malformed.
    std::optional<int64_t> integer(const std::string& key) const;

private:
    std::multimap<std::string, std::string> values_;
};

std::string percent_decode(std::string_view s, bool plus_is_space);

// Which of Docker's standard response headers a response carries.
enum class StdHeaders {
    all,              // Api-Version, Docker-Experimental, Ostype, Server, Date
    no_experimental,  // the API-version errors
    date_only,        // the router's 404 for an unknown route
    none,             // attach's 101
    all_but_date,     // exec start's 101
};

class Connection;

class Request {
public:
    Request(Connection& c) : c_(c) {}
    const std::string& method() const;
    const std::string& target() const;  // as sent
    const std::string& path() const;    // decoded, without the query
    const Query& query() const;
    std::string header(std::string_view name) const; // "" when absent
    bool has_header(std::string_view name) const;
    bool upgrade_requested() const;                  // Connection: Upgrade + Upgrade: tcp
    // The whole body (Content-Length or chunked); HttpError 413 beyond `limit`.
    std::string body(size_t limit);
    // The body piece by piece, as it arrives (tars of any size).
    void body_stream(const std::function<void(std::string_view)>& sink, uint64_t limit);
    bool body_done() const;

    // Set by the router.
    std::string route_path;              // the path without the /vX.Y prefix
    int api_major = 1, api_minor = 41;   // the version the client asked for (unversioned: newest)
    std::map<std::string, std::string> params; // {id}, {name} … from the route

private:
    Connection& c_;
};

class Response {
public:
    Response(Connection& c) : c_(c) {}

    // A complete response with Content-Length.
    void send(int status, std::string_view content_type, std::string_view body,
              const std::vector<std::pair<std::string, std::string>>& extra = {}, StdHeaders std = StdHeaders::all);
    void json(int status, const Json& body);             // compact JSON + "\n"
    void no_content(int status = 204);                   // no body, no Content-Type
    void error(int status, const std::string& message);  // {"message": …}

    // A streamed body: Transfer-Encoding: chunked, flushed at once. An empty
    // content type sends none (logs).
    void begin_stream(int status, std::string_view content_type,
                      const std::vector<std::pair<std::string, std::string>>& extra = {});
    void chunk(std::string_view data);  // throws ctk::Error when the client is gone
    void end_stream();

    // Switches the connection to raw bytes: "101 UPGRADED" when the client
    // asked to upgrade, else "200 OK" (old clients), with Docker's raw-stream
    // content type. The connection closes when the handler returns.
    Transport& hijack(StdHeaders std);

    // The connection (a stream watches it for the client going away).
    Transport& transport();
    // True when the client closed the connection or sent something on a
    // stream that expects nothing (waits up to timeout_ms).
    bool client_gone(int timeout_ms = 0);

    bool started() const { return state_ != State::none; }
    bool streaming() const { return state_ == State::streaming; }
    bool hijacked() const { return state_ == State::hijacked; }

private:
    enum class State { none, done, streaming, hijacked } state_ = State::none;
    Connection& c_;
};

using Handler = std::function<void(Request&, Response&)>;

struct ServerLimits {
    size_t header_bytes = 64 * 1024;
    uint64_t idle_body_drain = 16u << 20; // unread request bodies up to this are skipped to keep the connection
    // A request's headers must all arrive within this, counted from the
    // connection's start (the first request) or from the request's first byte
    // (later ones): a client that sends nothing, or a byte now and then, is
    // closed without an answer. dockerd's ReadHeaderTimeout (Go's http.Server)
    // is 5 minutes. Bodies, streamed responses and hijacked connections are
    // not timed (dockerd sets no ReadTimeout/WriteTimeout either).
    int64_t header_timeout_ms = 5 * 60 * 1000;
    // How long a kept-alive connection may wait for its next request's first
    // byte before it is closed. dockerd sets no IdleTimeout (so Go keeps such
    // a connection forever); ctld closes it after 5 minutes, longer than the
    // docker CLI or docker-py keep an idle connection to reuse it.
    int64_t idle_timeout_ms = 5 * 60 * 1000;
};

// Serves requests on one connection until the client closes it, a response
// says to close, the connection is hijacked, or a timeout of `limits` passes
// while a request is awaited. `awaiting` (optional) is told true when the
// connection starts waiting for a request (its headers not all in) and false
// when that ends, before the connection can close: a server may shut such a
// connection down meanwhile to make room (ctld at its connection cap).
// Never throws.
void serve_connection(std::unique_ptr<Transport> transport, const Handler& handler, const ServerLimits& limits,
                      const std::function<void(const std::string&)>& log,
                      const std::function<void(bool)>& awaiting = {});

// Standard header values.
inline constexpr const char* api_version = "1.41";
inline constexpr const char* min_api_version = "1.12";
std::string server_header();
std::string http_date(int64_t unix_seconds);

} // namespace ctk::api
