#include "api/client.hpp"

#include <limits>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "api/beast_stream.hpp"
#include "api/http.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::api {

namespace http = boost::beast::http;
namespace net = boost::asio;
using boost::system::error_code;

namespace {


std::string versioned(const std::string& path) { return path.rfind("/_ping", 0) == 0 ? path : std::string("/v") + api_version + path; }

std::string request_head(const std::string& method, const std::string& target, const std::string& content_type, size_t length,
                         bool chunked, const std::map<std::string, std::string>& headers, bool upgrade) {
    std::string out = method + " " + target + " HTTP/1.1\r\nHost: api.ctk.localhost\r\nUser-Agent: ctl/" + CTK_VERSION + "\r\n";
    if (!content_type.empty() && (length > 0 || chunked)) out += "Content-Type: " + content_type + "\r\n";
    if (chunked) out += "Transfer-Encoding: chunked\r\n";
    else out += "Content-Length: " + std::to_string(length) + "\r\n";
    if (upgrade) out += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
    for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
    return out + "\r\n";
}

} // namespace


std::string ClientResponse::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
}

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
        else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

void throw_api_error(int status, const std::string& body) {
    std::string msg = std::string(trim(body));
    try {
        Json j = parse_json_text(body, "daemon response");
        if (j.is_object() && j.contains("message") && j["message"].is_string()) msg = j["message"].get<std::string>();
    } catch (const std::exception&) {
    }
    if (msg.empty()) msg = "the daemon answered HTTP " + std::to_string(status);
    ErrorKind k = status == 404 ? ErrorKind::not_found
                : status == 409 ? ErrorKind::conflict
                : status == 400 ? ErrorKind::invalid
                                : ErrorKind::failed;
    throw Error(msg, k);
}

Client::Client(const std::string& host, std::optional<TlsFiles> tls) : host_(host), endpoint_(parse_endpoint(host)) {
    if (tls) tls_ = std::make_unique<TlsContext>(TlsContext::client(*tls));
}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;

std::unique_ptr<Transport> Client::connect() {
    UniqueFd fd = connect_to(endpoint_);
    if (tls_) return tls_->connect(std::move(fd), endpoint_.host);
    if (endpoint_.kind == Endpoint::Kind::tcp && !endpoint_.loopback())
        throw Error("refusing plain TCP to " + host_ + ": give --tlsverify with --tlscacert, --tlscert, --tlskey", ErrorKind::usage);
    return plain_transport(std::move(fd), host_);
}

namespace {

// Reads one response head on `t`; the parser stays for the body.
struct Reader {
    explicit Reader(Transport& t) : s(t) {
        p.body_limit(std::numeric_limits<std::uint64_t>::max());
        p.header_limit(1 << 20);
    }
    BeastStream s;
    boost::beast::flat_buffer buf;
    http::response_parser<http::buffer_body> p;

    void head(const std::string& what) {
        error_code ec;
        http::read_header(s, buf, p, ec);
        if (ec) throw Error("reading the daemon's answer to " + what + ": " + ec.message(), ErrorKind::remote);
    }
    std::map<std::string, std::string> headers() const {
        std::map<std::string, std::string> h;
        for (const auto& f : p.get()) h[to_lower(std::string(f.name_string()))] = std::string(f.value());
        return h;
    }
    // The body piece by piece; false when there was none left.
    void body(const std::function<void(std::string_view)>& sink, const std::string& what) {
        char chunk[65536];
        while (!p.is_done()) {
            p.get().body().data = chunk;
            p.get().body().size = sizeof chunk;
            error_code ec;
            http::read(s, buf, p, ec);
            if (ec == http::error::need_buffer) ec = {};
            if (ec == http::error::partial_message || ec == net::error::eof) ec = {}; // the daemon closed mid-stream
            size_t n = sizeof chunk - p.get().body().size;
            if (n) sink(std::string_view(chunk, n));
            if (ec) throw Error("reading the daemon's answer to " + what + ": " + ec.message(), ErrorKind::remote);
            if (n == 0 && !p.is_done() && p.get().body().size == sizeof chunk) {
                // no progress and not done: the connection ended
                break;
            }
        }
    }
};

} // namespace

ClientResponse Client::request(const std::string& method, const std::string& path, const std::string& body,
                               const std::string& content_type, const std::map<std::string, std::string>& headers) {
    ClientResponse out;
    std::string* err = &out.body;
    out.status = stream(method, path, body, [&](std::string_view d) { out.body.append(d); }, err, content_type, &out.headers);
    (void)headers;
    return out;
}

int Client::stream(const std::string& method, const std::string& path, const std::string& body,
                   const std::function<void(std::string_view)>& on_data, std::string* error_body,
                   const std::string& content_type, std::map<std::string, std::string>* response_headers) {
    auto t = connect();
    std::string target = versioned(path);
    t->write_all(request_head(method, target, content_type, body.size(), false, {}, false) + body);
    Reader r(*t);
    r.head(method + " " + path);
    int status = static_cast<int>(r.p.get().result_int());
    if (response_headers) *response_headers = r.headers();
    if (method == "HEAD") return status;
    if (status >= 400 && error_body) {
        std::string e;
        r.body([&](std::string_view d) { e.append(d); }, method + " " + path);
        *error_body = e;
        return status;
    }
    r.body(on_data, method + " " + path);
    return status;
}

ClientResponse Client::upload(const std::string& method, const std::string& path, const std::function<std::string()>& next_piece,
                              const std::string& content_type) {
    auto t = connect();
    t->write_all(request_head(method, versioned(path), content_type, 0, true, {}, false));
    for (;;) {
        std::string piece = next_piece();
        char len[32];
        std::snprintf(len, sizeof len, "%zx\r\n", piece.size());
        if (piece.empty()) {
            t->write_all("0\r\n\r\n");
            break;
        }
        t->write_all(std::string(len) + piece + "\r\n");
    }
    Reader r(*t);
    r.head(method + " " + path);
    ClientResponse out;
    out.status = static_cast<int>(r.p.get().result_int());
    out.headers = r.headers();
    r.body([&](std::string_view d) { out.body.append(d); }, method + " " + path);
    return out;
}

std::unique_ptr<Transport> Client::hijack(const std::string& path, const std::string& body, const std::string& content_type) {
    auto t = connect();
    t->write_all(request_head("POST", versioned(path), content_type, body.size(), false, {}, true) + body);
    // The head is read byte by byte: whatever follows it is the raw stream
    // and must stay unread here.
    std::string head;
    char c;
    while (head.size() < (1 << 16)) {
        if (t->read_some(&c, 1) == 0) throw Error("the daemon closed the connection of " + path, ErrorKind::remote);
        head.push_back(c);
        if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) break;
    }
    int status = 0;
    if (head.size() > 12) status = std::atoi(head.c_str() + 9);
    if (status == 101 || status == 200) return t;
    // an error answer: its body follows the head
    std::string rest;
    auto lower = to_lower(head);
    auto cl = lower.find("content-length:");
    size_t want = cl == std::string::npos ? 0 : static_cast<size_t>(std::atol(head.c_str() + cl + 15));
    char buf[4096];
    while (rest.size() < want) {
        size_t n = t->read_some(buf, std::min(sizeof buf, want - rest.size()));
        if (n == 0) break;
        rest.append(buf, n);
    }
    throw_api_error(status, rest);
}

Json Client::get(const std::string& path) {
    ClientResponse r = request("GET", path);
    if (r.status >= 400) throw_api_error(r.status, r.body);
    if (trim(r.body).empty()) return Json();
    return parse_json_text(r.body, "daemon response");
}

Json Client::post(const std::string& path, const Json& body, int* status) {
    ClientResponse r = request("POST", path, body.is_null() ? "" : dump_compact(body));
    if (status) *status = r.status;
    if (r.status >= 400) throw_api_error(r.status, r.body);
    if (trim(r.body).empty()) return Json();
    try {
        return parse_json_text(r.body, "daemon response");
    } catch (const std::exception&) {
        return Json(r.body);
    }
}

void Client::del(const std::string& path) {
    ClientResponse r = request("DELETE", path);
    if (r.status >= 400) throw_api_error(r.status, r.body);
}

} // namespace ctk::api
