#include "api/http.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <chrono>
#include <limits>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "api/beast_stream.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "core/time.hpp"

namespace ctk::api {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using boost::system::error_code;

// ---------------------------------------------------------------- query

std::string percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < s.size(); i++) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

Query::Query(std::string_view raw) {
    for (const auto& part : split(raw, '&')) {
        if (part.empty()) continue;
        auto eq = part.find('=');
        std::string k = percent_decode(part.substr(0, eq), true);
        std::string v = eq == std::string::npos ? "" : percent_decode(std::string_view(part).substr(eq + 1), true);
        values_.emplace(std::move(k), std::move(v));
    }
}

std::optional<std::string> Query::get(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string Query::value(const std::string& key, const std::string& fallback) const {
    auto v = get(key);
    return v ? *v : fallback;
}

std::vector<std::string> Query::all(const std::string& key) const {
    std::vector<std::string> out;
    auto [lo, hi] = values_.equal_range(key);
    for (auto it = lo; it != hi; ++it) out.push_back(it->second);
    return out;
}

bool Query::flag(const std::string& key, bool fallback) const {
    auto v = get(key);
    if (!v) return fallback;
    std::string l = to_lower(*v);
    return !(l.empty() || l == "0" || l == "false" || l == "no");
}

std::optional<int64_t> Query::integer(const std::string& key) const {
    auto v = get(key);
    if (!v || v->empty()) return std::nullopt;
    std::string_view s = *v;
    bool neg = !s.empty() && s[0] == '-';
    auto n = parse_uint(neg ? s.substr(1) : s);
    if (!n || *n > static_cast<uint64_t>(INT64_MAX))
        throw HttpError(400, "invalid value for " + key + ": " + *v);
    return neg ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
}

// ---------------------------------------------------------------- headers

std::string server_header() { return std::string("ctld/") + CTK_VERSION + " (linux)"; }

std::string http_date(int64_t unix_seconds) { return format_utc(unix_seconds, "%a, %d %b %Y %H:%M:%S GMT"); }

// ---------------------------------------------------------------- the connection

namespace {


} // namespace

class Connection {
public:
    Connection(std::unique_ptr<Transport> t, const ServerLimits& limits)
        : t_(std::move(t)), stream_(*t_), limits_(limits), started_(std::chrono::steady_clock::now()) {}

    Transport& transport() { return *t_; }
    BeastStream& stream() { return stream_; }
    beast::flat_buffer& buffer() { return buffer_; }
    http::request_parser<http::buffer_body>& parser() { return *parser_; }
    const http::request<http::buffer_body>& message() const { return parser_->get(); }

    // Reads the next request's header. false: the connection ended cleanly
    // (or is unusable, after answering a malformed request).
    bool next_request(const std::function<void(const std::string&)>& log, const std::function<void(bool)>& awaiting) {
        using namespace std::chrono;
        // the caller knows, until this returns, that the connection only awaits a request
        if (awaiting) awaiting(true);
        struct Done {
            const std::function<void(bool)>& f;
            ~Done() {
                if (f) f(false);
            }
        } done{awaiting};
        http::request_parser<http::empty_body> hp;
        hp.header_limit(static_cast<uint32_t>(limits_.header_bytes));
        hp.body_limit(std::numeric_limits<std::uint64_t>::max()); // Beast 1.74 compares a length with an empty limit as greater
        // As Go's server: the first request's headers are due header_timeout
        // after the connection began; a later one may be awaited idle_timeout,
        // and its headers are due header_timeout after its first byte.
        steady_clock::time_point start = started_;
        if (served_ && buffer_.size() == 0 && !t_->buffered()) {
            if (!wait_readable(steady_clock::now() + milliseconds(limits_.idle_timeout_ms))) {
                if (log) log("idle connection from " + t_->peer() + " closed after " + std::to_string(limits_.idle_timeout_ms) + " ms");
                return false;
            }
        }
        if (served_) start = steady_clock::now();
        served_ = true;
        stream_.set_read_deadline(start + milliseconds(limits_.header_timeout_ms));
        error_code ec;
        http::read_header(stream_, buffer_, hp, ec);
        stream_.set_read_deadline(std::nullopt);
        if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) return false;
        if (ec == net::error::timed_out) {
            // Go's server closes such a connection without an answer
            if (log) log("request headers from " + t_->peer() + " not complete after " + std::to_string(limits_.header_timeout_ms) + " ms: closed");
            return false;
        }
        if (ec) {
            // What Go's net/http answers on a request it cannot parse.
            if (log) log("malformed request from " + t_->peer() + ": " + ec.message());
            try {
                std::string r = ec == http::error::header_limit
                                    ? "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"
                                    : "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request";
                t_->write_all(r);
            } catch (const std::exception&) {
            }
            return false;
        }
        parser_.emplace(std::move(hp));
        parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        target_ = std::string(parser_->get().target());
        method_ = std::string(parser_->get().method_string());
        auto q = target_.find('?');
        path_ = percent_decode(std::string_view(target_).substr(0, q), false);
        query_ = Query(q == std::string::npos ? std::string_view() : std::string_view(target_).substr(q + 1));
        continue_sent_ = false;
        return true;
    }

    void read_body(const std::function<void(std::string_view)>& sink, uint64_t limit) {
        auto& p = *parser_;
        if (p.is_done()) return;
        if (!continue_sent_ && beast::iequals(p.get()[http::field::expect], "100-continue")) {
            t_->write_all("HTTP/1.1 100 Continue\r\n\r\n");
            continue_sent_ = true;
        }
        if (auto len = p.content_length(); len && *len > limit) {
            close_after_ = true; // the body is not read: the connection cannot go on
            throw HttpError(413, "request body too large: " + std::to_string(*len) + " bytes (limit " + std::to_string(limit) + ")");
        }
        uint64_t total = 0;
        char buf[65536];
        while (!p.is_done()) {
            p.get().body().data = buf;
            p.get().body().size = sizeof buf;
            error_code ec;
            http::read_some(stream_, buffer_, p, ec); // a chunk at a time: the limit holds without a final chunk
            if (ec == http::error::need_buffer) ec = {};
            if (ec) {
                close_after_ = true;
                throw HttpError(400, "reading the request body: " + ec.message());
            }
            size_t n = sizeof buf - p.get().body().size;
            total += n;
            if (total > limit) {
                close_after_ = true;
                throw HttpError(413, "request body too large (limit " + std::to_string(limit) + " bytes)");
            }
            if (n) sink(std::string_view(buf, n));
        }
    }

    // false: nothing arrived before `deadline`.
    bool wait_readable(std::chrono::steady_clock::time_point deadline) {
        if (t_->fd() < 0) return true; // nothing to poll (an in-memory transport)
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) return false;
            pollfd p{t_->fd(), POLLIN, 0};
            int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
            if (r > 0) return true;
            if (r < 0 && errno != EINTR) return true; // the read reports it
        }
    }

    const std::string& method() const { return method_; }
    const std::string& target() const { return target_; }
    const std::string& path() const { return path_; }
    const Query& query() const { return query_; }
    bool keep_alive() const { return parser_->get().keep_alive() && !close_after_; }
    void close_after() { close_after_ = true; }
    bool head() const { return method_ == "HEAD"; }

private:
    std::unique_ptr<Transport> t_;
    BeastStream stream_;
    const ServerLimits& limits_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::buffer_body>> parser_;
    std::string method_, target_, path_;
    Query query_;
    bool continue_sent_ = false;
    bool close_after_ = false;
    std::chrono::steady_clock::time_point started_;
    bool served_ = false; // a request was read on this connection
};

// ---------------------------------------------------------------- request

const std::string& Request::method() const { return c_.method(); }
const std::string& Request::target() const { return c_.target(); }
const std::string& Request::path() const { return c_.path(); }
const Query& Request::query() const { return c_.query(); }

std::string Request::header(std::string_view name) const {
    auto& m = c_.message();
    auto it = m.find(beast::string_view(name.data(), name.size()));
    return it == m.end() ? "" : std::string(it->value());
}

bool Request::has_header(std::string_view name) const {
    auto& m = c_.message();
    return m.find(beast::string_view(name.data(), name.size())) != m.end();
}

bool Request::upgrade_requested() const {
    std::string conn = to_lower(header("Connection"));
    return conn.find("upgrade") != std::string::npos && !header("Upgrade").empty();
}

std::string Request::body(size_t limit) {
    std::string out;
    c_.read_body([&](std::string_view d) { out.append(d); }, limit);
    return out;
}

void Request::body_stream(const std::function<void(std::string_view)>& sink, uint64_t limit) { c_.read_body(sink, limit); }

bool Request::body_done() const { return const_cast<Connection&>(c_).parser().is_done(); }

// ---------------------------------------------------------------- response

namespace {

void add_standard(http::response_header<>& h, StdHeaders std) {
    if (std == StdHeaders::none) return;
    if (std != StdHeaders::date_only) {
        h.set("Api-Version", api_version);
        if (std != StdHeaders::no_experimental) h.set("Docker-Experimental", "false");
        h.set("Ostype", "linux");
        h.set(http::field::server, server_header());
    }
    if (std != StdHeaders::all_but_date) h.set(http::field::date, http_date(::time(nullptr)));
}

std::string header_text(const http::response_header<>& h) {
    std::string out = "HTTP/1.1 " + std::to_string(h.result_int()) + " " + std::string(h.reason()) + "\r\n";
    for (const auto& f : h) {
        out += std::string(f.name_string());
        out += ": ";
        out += std::string(f.value());
        out += "\r\n";
    }
    out += "\r\n";
    return out;
}

} // namespace

void Response::send(int status, std::string_view content_type, std::string_view body,
                    const std::vector<std::pair<std::string, std::string>>& extra, StdHeaders std) {
    http::response_header<> h;
    h.result(static_cast<unsigned>(status));
    h.reason(http::obsolete_reason(h.result()));
    add_standard(h, std);
    if (!content_type.empty()) h.set(http::field::content_type, std::string(content_type));
    for (const auto& [k, v] : extra) h.set(k, v);
    // a client may reuse a connection unless told it ends here
    if (!c_.keep_alive()) h.set(http::field::connection, "close");
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    if (!no_body) h.set(http::field::content_length, std::to_string(body.size()));
    std::string out = header_text(h);
    if (!no_body && !c_.head()) out.append(body);
    state_ = State::done;
    c_.transport().write_all(out);
}

void Response::json(int status, const Json& body) {
    send(status, "application/json", body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

void Response::no_content(int status) { send(status, "", ""); }

void Response::error(int status, const std::string& message) {
    send(status, "application/json", dump_compact(Json{{"message", message}}) + "\n");
}

void Response::begin_stream(int status, std::string_view content_type,
                            const std::vector<std::pair<std::string, std::string>>& extra) {
    http::response_header<> h;
    h.result(static_cast<unsigned>(status));
    h.reason(http::obsolete_reason(h.result()));
    add_standard(h, StdHeaders::all);
    if (!content_type.empty()) h.set(http::field::content_type, std::string(content_type));
    for (const auto& [k, v] : extra) h.set(k, v);
    h.set(http::field::transfer_encoding, "chunked");
    // a client that drops a stream leaves nothing reusable; saying so keeps
    // Go's client from sending its next request on it
    h.set(http::field::connection, "close");
    state_ = State::streaming;
    c_.close_after();
    c_.transport().write_all(header_text(h));
}

void Response::chunk(std::string_view data) {
    if (data.empty() || c_.head()) return;
    char len[32];
    std::snprintf(len, sizeof len, "%zx\r\n", data.size());
    std::string out = len;
    out.append(data);
    out += "\r\n";
    c_.transport().write_all(out);
}

void Response::end_stream() {
    if (state_ != State::streaming) return;
    state_ = State::done;
    c_.transport().write_all("0\r\n\r\n");
}

Transport& Response::transport() { return c_.transport(); }

bool Response::client_gone(int timeout_ms) {
    // Only the end of the client's side counts: a streamed response expects
    // nothing from it, and bytes it sends anyway are left unread.
    pollfd p{c_.transport().fd(), POLLRDHUP, 0};
    int r = ::poll(&p, 1, timeout_ms);
    return r > 0 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP));
}

Transport& Response::hijack(StdHeaders std) {
    Request req(c_);
    http::response_header<> h;
    bool upgrade = req.upgrade_requested();
    h.result(upgrade ? http::status::switching_protocols : http::status::ok);
    h.reason(upgrade ? "UPGRADED" : "OK");
    h.set(http::field::content_type, "application/vnd.docker.raw-stream");
    if (upgrade) {
        h.set(http::field::connection, "Upgrade");
        h.set(http::field::upgrade, "tcp");
    }
    add_standard(h, std);
    state_ = State::hijacked;
    c_.close_after();
    c_.transport().write_all(header_text(h));
    return c_.transport();
}

// ---------------------------------------------------------------- the loop

void serve_connection(std::unique_ptr<Transport> transport, const Handler& handler, const ServerLimits& limits,
                      const std::function<void(const std::string&)>& log, const std::function<void(bool)>& awaiting) {
    try {
        Connection c(std::move(transport), limits);
        while (c.next_request(log, awaiting)) {
            Request req(c);
            Response res(c);
            try {
                handler(req, res);
            } catch (const HttpError& e) {
                if (!res.started()) res.error(e.status(), e.what());
                else c.close_after();
            } catch (const std::exception& e) {
                if (!res.started()) res.error(500, e.what());
                else c.close_after();
            }
            if (res.streaming()) {
                try {
                    res.end_stream();
                } catch (const std::exception&) {
                }
            }
            if (res.hijacked() || !c.keep_alive()) break;
            if (!req.body_done()) {
                try {
                    c.read_body([](std::string_view) {}, limits.idle_body_drain);
                } catch (const std::exception&) {
                    break;
                }
            }
        }
    } catch (const std::exception& e) {
        if (log) log(std::string("connection: ") + e.what());
    }
}

} // namespace ctk::api
