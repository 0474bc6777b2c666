#include "registry/transport.hpp"

#include <unistd.h>

#include <cstring>
#include <mutex>

#include <curl/curl.h>

#include "core/strings.hpp"

namespace ctk::registry {

void Request::set_header(std::string name, std::string value) {
    remove_header(name);
    headers.emplace_back(std::move(name), std::move(value));
}

std::string Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (to_lower(k) == to_lower(name)) return v;
    return "";
}

void Request::remove_header(std::string_view name) {
    std::erase_if(headers, [&](const auto& h) { return to_lower(h.first) == to_lower(name); });
}

std::string Response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return v;
    return "";
}

std::vector<std::string> Response::header_values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (k == name) out.push_back(v);
    return out;
}

std::string url_encode(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

namespace {
struct UrlParts {
    std::string scheme;    // lower case
    std::string authority; // host[:port], host lower case
    std::string rest;      // "/path?query" ("" allowed)
};

UrlParts split_url(std::string_view url) {
    UrlParts p;
    size_t colon = url.find("://");
    if (colon == std::string_view::npos) return p;
    p.scheme = to_lower(url.substr(0, colon));
    std::string_view after = url.substr(colon + 3);
    size_t end = after.find_first_of("/?#");
    p.authority = to_lower(after.substr(0, end));
    if (size_t at = p.authority.rfind('@'); at != std::string::npos) p.authority.erase(0, at + 1);
    if (end != std::string_view::npos) p.rest = std::string(after.substr(end));
    return p;
}
} // namespace

std::string url_origin(std::string_view url) {
    UrlParts p = split_url(url);
    std::string authority = p.authority;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        has_port = authority.find("]:") != std::string::npos;
    } else {
        has_port = authority.find(':') != std::string::npos;
    }
    if (!has_port) authority += p.scheme == "https" ? ":443" : ":80";
    return p.scheme + "://" + authority;
}

std::string resolve_url(std::string_view base, std::string_view location) {
    if (location.find("://") != std::string_view::npos) {
        size_t colon = location.find("://");
        bool scheme_only = true;
        for (char c : location.substr(0, colon))
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
                scheme_only = false;
        if (scheme_only) return std::string(location);
    }
    UrlParts b = split_url(base);
    if (location.starts_with("//")) return b.scheme + ":" + std::string(location);
    if (location.starts_with("/")) return b.scheme + "://" + b.authority + std::string(location);
    std::string path = b.rest.substr(0, b.rest.find_first_of("?#"));
    if (location.starts_with("?")) return b.scheme + "://" + b.authority + path + std::string(location);
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "/" : path.substr(0, slash + 1);
    return b.scheme + "://" + b.authority + dir + std::string(location);
}

std::string add_query(std::string_view url, std::string_view name, std::string_view value) {
    std::string out(url);
    out += url.find('?') == std::string_view::npos ? '?' : '&';
    out += url_encode(name);
    out += '=';
    out += url_encode(value);
    return out;
}

namespace {

class CurlTransport final : public Transport {
public:
    CurlTransport() {
        static std::once_flag once;
        std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
        handle_ = curl_easy_init();
        if (!handle_) throw Error("libcurl: cannot create a handle");
    }
    ~CurlTransport() override { curl_easy_cleanup(handle_); }

    Response perform(const Request& req, const BodySink* sink, size_t max_body) override;

private:
    struct Exchange {
        CURL* handle;
        const Request* req;
        const BodySink* sink;
        size_t max_body;
        Response resp;
        bool too_large = false;
        bool aborted = false;
        bool status_known = false;
        uint64_t sent = 0;
        std::exception_ptr sink_error; // an exception must not unwind through libcurl
    };

    static size_t on_header(char* data, size_t size, size_t n, void* user);
    static size_t on_body(char* data, size_t size, size_t n, void* user);
    static size_t on_read(char* data, size_t size, size_t n, void* user);

    CURL* handle_;
};

size_t CurlTransport::on_header(char* data, size_t size, size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    std::string_view line(data, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
        // A new response (after 100 Continue, or the first one).
        x->resp.headers.clear();
        return size * n;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos)
        x->resp.headers.emplace_back(to_lower(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
    return size * n;
}

size_t CurlTransport::on_body(char* data, size_t size, size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    size_t len = size * n;
    if (!x->status_known) {
        curl_easy_getinfo(x->handle, CURLINFO_RESPONSE_CODE, &x->resp.status);
        x->status_known = true;
    }
    if (x->resp.ok() && x->sink) {
        try {
            if (!(*x->sink)(x->resp, std::string_view(data, len))) {
                x->aborted = true;
                return 0;
            }
        } catch (...) {
            x->sink_error = std::current_exception();
            return 0;
        }
        return len;
    }
    if (x->resp.body.size() + len > x->max_body) {
        if (x->resp.ok()) {
            x->too_large = true;
            return 0;
        }
        x->resp.body_truncated = true;
        x->resp.body.append(data, x->max_body - x->resp.body.size());
        return len;
    }
    x->resp.body.append(data, len);
    return len;
}

size_t CurlTransport::on_read(char* data, size_t size, size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    if (x->req->upload_fd < 0) {
        size_t k = std::min<size_t>(size * n, x->req->body.size() - x->sent);
        std::memcpy(data, x->req->body.data() + x->sent, k);
        x->sent += k;
        return k;
    }
    uint64_t left = x->req->upload_length - x->sent;
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * n));
    if (want == 0) return 0;
    ssize_t got;
    do {
        got = ::pread(x->req->upload_fd, data, want,
                      static_cast<off_t>(x->req->upload_offset + x->sent));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) return CURL_READFUNC_ABORT;
    x->sent += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
}

TransportError::Kind classify(CURLcode rc) {
    using K = TransportError::Kind;
    switch (rc) {
    case CURLE_COULDNT_CONNECT: return K::connect;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return K::resolve;
    case CURLE_OPERATION_TIMEDOUT: return K::timeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return K::reset;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED: return K::tls;
    default: return K::other;
    }
}

Response CurlTransport::perform(const Request& req, const BodySink* sink, size_t max_body) {
    CURL* h = handle_;
    // Keeps the connection cache; clears every option of the last request.
    curl_easy_reset(h);
    char errbuf[CURL_ERROR_SIZE] = "";
    Exchange x{h, &req, sink, max_body, {}, false, false, false, 0, nullptr};

    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ctk-reg-fetch/" CTK_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled transfer (under 1 byte/s for a minute) is a timeout, retried.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    if (req.no_proxy) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (req.insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!req.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, req.ca_file.c_str());

    bool upload = req.upload_fd >= 0;
    if (req.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "POST" && !upload) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    } else if (req.method == "PUT" || req.method == "PATCH" || upload) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        if (req.method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        curl_easy_setopt(h, CURLOPT_READFUNCTION, &on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &x);
        uint64_t length = upload ? req.upload_length : req.body.size();
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
    } else if (req.method != "GET") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }

    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
    // No "Expect: 100-continue" round trip before uploads.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (x.sink_error) std::rethrow_exception(x.sink_error);
    if (rc != CURLE_OK) {
        using K = TransportError::Kind;
        if (x.too_large)
            throw TransportError(K::too_large,
                                 "response larger than " + std::to_string(max_body) + " bytes");
        if (x.aborted) throw TransportError(K::aborted, "transfer stopped");
        std::string text = curl_easy_strerror(rc);
        if (errbuf[0]) text += std::string(": ") + errbuf;
        throw TransportError(classify(rc), text);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x.resp.status);
    return std::move(x.resp);
}

} // namespace

std::unique_ptr<Transport> make_curl_transport() { return std::make_unique<CurlTransport>(); }

} // namespace ctk::registry
