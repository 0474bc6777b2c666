#include "registry/client.hpp"

#include <algorithm>
#include <thread>

#include "core/json.hpp"
#include "core/strings.hpp"
#include "oci/media_types.hpp"

namespace ctk::registry {

using namespace std::chrono_literals;

std::string manifest_accept() {
    return std::string(oci::media::oci_manifest) + ", " + std::string(oci::media::oci_index) + ", " +
           std::string(oci::media::docker_manifest) + ", " +
           std::string(oci::media::docker_manifest_list);
}

std::string status_text(long status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

Client::Client(Endpoint endpoint, std::string path, std::shared_ptr<Authenticator> auth,
               std::unique_ptr<Transport> transport, RetryPolicy retry)
    : endpoint_(std::move(endpoint)), auth_(std::move(auth)), transport_(std::move(transport)),
      retry_(std::move(retry)) {
    repository_ = endpoint_.repository(path);
    if (retry_.attempts == 0) retry_.attempts = 1;
    if (!retry_.sleep) retry_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

std::string Client::where() const {
    // login asks the registry itself (GET /v2/), no repository
    return "registry " + endpoint_.display() + (repository_.empty() ? "" : ": repository " + repository_);
}

std::string Client::url(std::string_view tail) const {
    return endpoint_.base_url + "/v2/" + repository_ + std::string(tail);
}

void Client::backoff(unsigned failures, const std::string& why) {
    auto delay = retry_.first_delay * (1u << std::min(failures - 1, 5u));
    delay = std::min<std::chrono::milliseconds>(delay, 5s);
    if (retry_.on_retry) retry_.on_retry(why);
    retry_.sleep(delay);
}

static std::string transport_hint(const TransportError& e, const Endpoint& ep) {
    switch (e.transport_kind()) {
    case TransportError::Kind::tls:
        return " (TLS; for a registry with its own CA set \"ca\", or \"insecure\": true, for " +
               ep.domain + " in the \"registry\" section of the ctk config file)";
    case TransportError::Kind::connect: return " (is the registry running?)";
    default: return "";
    }
}

Response Client::send(Request req, std::string_view object, const BodySink* sink, size_t max_body,
                      bool retry) {
    const std::string origin = url_origin(endpoint_.base_url);
    unsigned failures = 0;
    unsigned redirects = 0;
    bool reauthenticated = false;
    for (;;) {
        bool home = url_origin(req.url) == origin;
        std::string target = url_origin(req.url);
        req.remove_header("Authorization");
        unsigned generation = 0;
        if (home) {
            req.insecure = endpoint_.insecure;
            req.ca_file = endpoint_.ca_file;
            req.no_proxy = endpoint_.loopback;
            std::string a = auth_->authorization(*transport_, req, generation);
            if (!a.empty()) req.set_header("Authorization", a);
        } else {
            // A redirect elsewhere (a CDN, object storage): no credentials, and
            // that host's certificate is checked normally.
            req.insecure = false;
            req.ca_file.clear();
            req.no_proxy = is_loopback_host(target.substr(target.find("://") + 3));
        }
        Response r;
        try {
            r = transport_->perform(req, sink, max_body);
        } catch (const TransportError& e) {
            if (retry && e.transient() && ++failures < retry_.attempts) {
                backoff(failures, std::string(object) + ": " + e.what());
                continue;
            }
            if (e.transport_kind() == TransportError::Kind::too_large) throw;
            throw TransportError(e.transport_kind(), where() + ": " + std::string(object) + ": " +
                                                         e.what() + transport_hint(e, endpoint_));
        }
        if (r.status == 401 && home && !reauthenticated) {
            reauthenticated = true;
            if (auth_->on_unauthorized(*transport_, req, r, generation)) continue;
        }
        if (r.redirect()) {
            std::string location = r.header("location");
            if (location.empty()) fail(r, object);
            if (++redirects > 10)
                throw Error(where() + ": " + std::string(object) + ": too many redirects", ErrorKind::remote);
            req.url = resolve_url(req.url, location);
            if (r.status == 303 && req.method != "HEAD") {
                req.method = "GET";
                req.body.clear();
                req.upload_fd = -1;
            }
            continue;
        }
        if (retry && r.status >= 500 && r.status != 501 && r.status != 505 &&
            ++failures < retry_.attempts) {
            backoff(failures, std::string(object) + ": HTTP " + std::to_string(r.status));
            continue;
        }
        return r;
    }
}

void Client::fail(const Response& r, std::string_view object) const {
    std::string msg = where() + ": " + std::string(object) + ": HTTP " + std::to_string(r.status);
    if (std::string t = status_text(r.status); !t.empty()) msg += " " + t;
    std::vector<std::string> details;
    try {
        Json j = parse_json_text(r.body, "error response");
        if (j.is_object() && j.contains("errors") && j["errors"].is_array())
            for (const auto& e : j["errors"]) {
                if (!e.is_object()) continue;
                std::string code = e.value("code", "");
                std::string message = e.value("message", "");
                details.push_back(code.empty() ? message : message.empty() ? code : code + ": " + message);
            }
    } catch (const std::exception&) {
    }
    if (!details.empty()) msg += " (" + join(details, "; ") + ")";
    if (r.status == 401)
        msg += auth_->has_credentials()
                   ? ": credentials refused"
                   : ": credentials needed (reg-fetch login " + endpoint_.domain + ")";
    if (r.status == 429) {
        if (std::string after = r.header("retry-after"); !after.empty())
            msg += ": retry after " + after + " s";
    }
    if (r.status == 301 || r.status == 302 || r.status == 307 || r.status == 308)
        msg += ": redirect without a Location";
    throw Error(msg, r.status == 404 ? ErrorKind::not_found : ErrorKind::remote);
}

static std::string bare_media_type(std::string_view content_type) {
    return std::string(trim(content_type.substr(0, content_type.find(';'))));
}

Document Client::get_manifest(std::string_view reference) {
    bool by_digest = Digest::valid(reference);
    std::string object = by_digest ? "manifest " + std::string(reference)
                                   : "manifest " + quote(reference);
    Request req;
    req.url = url("/manifests/" + std::string(reference));
    req.set_header("Accept", manifest_accept());
    Response r;
    try {
        r = send(req, object, nullptr, max_manifest_size);
    } catch (const TransportError& e) {
        if (e.transport_kind() != TransportError::Kind::too_large) throw;
        throw_invalid(where() + ": " + object + ": larger than " + std::to_string(max_manifest_size) +
                      " bytes, refused");
    }
    if (!r.ok()) fail(r, object);
    Document doc;
    doc.bytes = std::move(r.body);
    doc.digest = Digest::sha256_of(doc.bytes);
    if (by_digest) {
        Digest want = Digest::parse(reference);
        Hasher h(want.algorithm());
        h.update(doc.bytes);
        verify_digest(where() + ": " + object, want, h.digest());
        doc.digest = want;
    } else if (std::string dcd = r.header("docker-content-digest"); Digest::valid(dcd)) {
        Digest told = Digest::parse(dcd);
        if (told.algorithm() == "sha256")
            verify_digest(where() + ": " + object + " (Docker-Content-Digest)", told, doc.digest);
    }
    std::string media_type;
    Json j;
    try {
        j = parse_json_text(doc.bytes, where() + ": " + object);
    } catch (const Json::exception& e) {
        throw_invalid(where() + ": " + object + ": malformed JSON: " + e.what());
    }
    if (!j.is_object()) throw_invalid(where() + ": " + object + ": not a JSON object");
    if (j.contains("mediaType") && j["mediaType"].is_string()) media_type = j["mediaType"];
    if (media_type.empty()) media_type = bare_media_type(r.header("content-type"));
    if (!oci::is_manifest_type(media_type) && !oci::is_index_type(media_type))
        throw_invalid(where() + ": " + object + ": unsupported media type " + quote(media_type));
    doc.media_type = media_type;
    return doc;
}

std::optional<oci::Descriptor> Client::head_manifest(std::string_view reference) {
    std::string object = "manifest " + std::string(reference);
    Request req;
    req.method = "HEAD";
    req.url = url("/manifests/" + std::string(reference));
    req.set_header("Accept", manifest_accept());
    Response r = send(req, object);
    if (r.status == 404) return std::nullopt;
    if (!r.ok()) fail(r, object);
    oci::Descriptor d;
    d.media_type = bare_media_type(r.header("content-type"));
    if (std::string dcd = r.header("docker-content-digest"); Digest::valid(dcd)) d.digest = Digest::parse(dcd);
    if (auto n = parse_uint(r.header("content-length"))) d.size = static_cast<int64_t>(*n);
    return d;
}

std::string Client::get_blob(const oci::Descriptor& d, size_t max_size) {
    std::string object = "blob " + d.digest.str();
    if (d.size < 0 || static_cast<uint64_t>(d.size) > max_size)
        throw_invalid(where() + ": " + object + ": size " + std::to_string(d.size) +
                      " over the limit of " + std::to_string(max_size) + " bytes");
    Request req;
    req.url = url("/blobs/" + d.digest.str());
    Response r;
    try {
        r = send(req, object, nullptr, static_cast<size_t>(d.size));
    } catch (const TransportError& e) {
        if (e.transport_kind() != TransportError::Kind::too_large) throw;
        throw_invalid(where() + ": " + object + ": size mismatch: more than " +
                      std::to_string(d.size) + " bytes");
    }
    if (!r.ok()) fail(r, object);
    verify_size(where() + ": " + object, d.size, r.body.size());
    Hasher h(d.digest.algorithm());
    h.update(r.body);
    verify_digest(where() + ": " + object, d.digest, h.digest());
    return std::move(r.body);
}

void Client::download_blob(const oci::Descriptor& d, oci::BlobWriter& w,
                           const std::function<void(uint64_t)>& progress,
                           const std::atomic<bool>* cancel) {
    std::string object = "blob " + d.digest.str();
    const uint64_t expected = static_cast<uint64_t>(d.size);
    unsigned failures = 0;
    for (;;) {
        uint64_t offset = w.size();
        if (offset == expected) return;
        Request req;
        req.url = url("/blobs/" + d.digest.str());
        if (offset > 0) req.set_header("Range", "bytes=" + std::to_string(offset) + "-");
        bool first = true;
        BodySink sink = [&](const Response& head, std::string_view chunk) {
            if (first) {
                first = false;
                if (offset > 0 && head.status != 206) w.restart(); // Range ignored: whole blob
                if (head.status == 206) {
                    // "bytes 1000-2047/2048": must start where we are.
                    std::string cr = head.header("content-range");
                    std::string_view v = cr;
                    if (v.starts_with("bytes ")) v.remove_prefix(6);
                    auto start = parse_uint(v.substr(0, v.find('-')));
                    if (!start || *start != offset)
                        throw Error(where() + ": " + object + ": range response starts at " +
                                        (cr.empty() ? "an unknown offset" : quote(cr)) + ", wanted " +
                                        std::to_string(offset),
                                    ErrorKind::remote);
                }
            }
            if (w.size() + chunk.size() > expected)
                throw_invalid(where() + ": " + object + ": size mismatch: more than " +
                              std::to_string(expected) + " bytes");
            w.write(chunk.data(), chunk.size());
            if (progress) progress(w.size());
            return !(cancel && cancel->load(std::memory_order_relaxed));
        };
        Response r;
        try {
            r = send(req, object, &sink, 64u << 10, false);
        } catch (const TransportError& e) {
            if (e.transport_kind() == TransportError::Kind::aborted)
                throw Error(object + ": download cancelled", ErrorKind::failed);
            bool moved = w.size() > offset;
            if (moved) failures = 0;
            if (e.transient() && ++failures < retry_.attempts) {
                backoff(failures, object + ": " + e.what());
                continue;
            }
            throw;
        }
        if (r.status == 416) {
            // Our partial bytes are not a prefix the registry knows: start over.
            w.restart();
            if (++failures < retry_.attempts) continue;
        }
        if (!r.ok()) {
            if (r.status >= 500 && r.status != 501 && ++failures < retry_.attempts) {
                backoff(failures, object + ": HTTP " + std::to_string(r.status));
                continue;
            }
            fail(r, object);
        }
        if (w.size() != expected)
            throw_invalid(where() + ": " + object + ": size mismatch: expected " +
                          std::to_string(expected) + " bytes, got " + std::to_string(w.size()));
        return;
    }
}

Response Client::send(const char* method, std::string url, std::string_view object) {
    Request req;
    req.method = method;
    req.url = std::move(url);
    return send(std::move(req), object);
}

bool Client::blob_exists(const Digest& d) {
    std::string object = "blob " + d.str();
    Response r = send("HEAD", url("/blobs/" + d.str()), object);
    if (r.status == 404) return false;
    if (!r.ok()) fail(r, object);
    return true;
}

std::vector<std::string> Client::tags() {
    std::vector<std::string> out;
    std::string next = url("/tags/list");
    for (int page = 0; !next.empty() && page < 10000; page++) {
        Request req;
        req.url = next;
        Response r = send(req, "tags", nullptr, 16u << 20);
        if (!r.ok()) fail(r, "tags");
        Json j = parse_json(r.body, where() + ": tags");
        if (j.is_object() && j.contains("tags") && j["tags"].is_array())
            for (const auto& t : j["tags"])
                if (t.is_string()) out.push_back(t);
        // Link: </v2/tiny/tags/list?last=b&n=2>; rel="next"
        next.clear();
        for (const auto& link : r.header_values("link")) {
            size_t lt = link.find('<'), gt = link.find('>');
            if (lt == std::string::npos || gt == std::string::npos || gt < lt) continue;
            if (link.find("rel=\"next\"", gt) == std::string::npos &&
                link.find("rel=next", gt) == std::string::npos)
                continue;
            next = resolve_url(req.url, link.substr(lt + 1, gt - lt - 1));
        }
    }
    return out;
}

std::string Client::start_upload(const std::string& object, const std::string& query) {
    Request req;
    req.method = "POST";
    req.url = url("/blobs/uploads/") + query;
    Response r = send(req, object);
    if (r.status != 202) fail(r, object);
    std::string location = r.header("location");
    if (location.empty())
        throw Error(where() + ": " + object + ": upload started without a Location", ErrorKind::remote);
    return resolve_url(req.url, location);
}

bool Client::mount_blob(const Digest& d, const std::string& from_repository) {
    std::string object = "blob " + d.str() + " (mount from " + from_repository + ")";
    Request req;
    req.method = "POST";
    req.url = add_query(add_query(url("/blobs/uploads/"), "mount", d.str()), "from", from_repository);
    Response r = send(req, object);
    if (r.status == 201) return true;
    if (r.status == 202) {
        // Not mounted; the registry opened an upload instead. Cancel it.
        if (std::string location = r.header("location"); !location.empty()) {
            Request del;
            del.method = "DELETE";
            del.url = resolve_url(req.url, location);
            try {
                send(del, object, nullptr, 1u << 20, false);
            } catch (const Error&) {
            }
        }
        return false;
    }
    if (r.status == 404 || r.status == 401 || r.status == 403) return false;
    fail(r, object);
}

void Client::upload_blob(const Digest& d, int fd, uint64_t size, uint64_t chunk_size,
                         const std::function<void(uint64_t)>& progress) {
    std::string object = "blob " + d.str();
    if (chunk_size == 0) chunk_size = size;
    auto server_error = [](const Response& r) { return r.status >= 500 && r.status != 501; };
    // One whole upload session; returns why it should be tried again ("" when done).
    auto attempt = [&]() -> std::string {
        std::string location = start_upload(object);
        uint64_t offset = 0;
        if (size > chunk_size) {
            while (offset < size) {
                uint64_t n = std::min(chunk_size, size - offset);
                Request patch;
                patch.method = "PATCH";
                patch.url = location;
                patch.upload_fd = fd;
                patch.upload_offset = offset;
                patch.upload_length = n;
                patch.set_header("Content-Type", "application/octet-stream");
                patch.set_header("Content-Range",
                                 std::to_string(offset) + "-" + std::to_string(offset + n - 1));
                Response r = send(patch, object, nullptr, 1u << 20, false);
                if (server_error(r)) return "HTTP " + std::to_string(r.status);
                if (r.status != 202) fail(r, object);
                if (std::string next = r.header("location"); !next.empty())
                    location = resolve_url(location, next);
                offset += n;
                if (progress) progress(offset);
            }
        }
        Request put;
        put.method = "PUT";
        put.url = add_query(location, "digest", d.str());
        put.set_header("Content-Type", "application/octet-stream");
        if (offset < size) {
            put.upload_fd = fd;
            put.upload_length = size;
        }
        Response r = send(put, object, nullptr, 1u << 20, false);
        if (server_error(r)) return "HTTP " + std::to_string(r.status);
        if (r.status != 201) fail(r, object);
        if (std::string dcd = r.header("docker-content-digest");
            Digest::valid(dcd) && Digest::parse(dcd) != d)
            throw Error(where() + ": " + object + ": registry stored it as " + dcd, ErrorKind::remote);
        if (progress) progress(size);
        return "";
    };
    for (unsigned failures = 0;;) {
        std::string why;
        try {
            why = attempt();
        } catch (const TransportError& e) {
            if (!e.transient() || failures + 1 >= retry_.attempts) throw;
            why = e.what();
        }
        if (why.empty()) return;
        // An upload session cannot continue after a failure: start a new one.
        if (++failures >= retry_.attempts)
            throw Error(where() + ": " + object + ": upload failed: " + why, ErrorKind::remote);
        backoff(failures, object + ": " + why);
    }
}

Digest Client::put_manifest(std::string_view reference, const std::string& bytes,
                            const std::string& media_type) {
    std::string object = "manifest " + std::string(reference);
    Request req;
    req.method = "PUT";
    req.url = url("/manifests/" + std::string(reference));
    req.set_header("Content-Type", media_type);
    req.body = bytes;
    Response r = send(req, object);
    if (r.status != 201 && r.status != 200) fail(r, object);
    Digest ours = Digest::sha256_of(bytes);
    if (std::string dcd = r.header("docker-content-digest"); Digest::valid(dcd) && Digest::parse(dcd) != ours)
        throw Error(where() + ": " + object + ": registry stored it as " + dcd + ", not " + ours.str(),
                    ErrorKind::remote);
    return ours;
}

void Client::delete_manifest(const Digest& d) {
    std::string object = "manifest " + d.str();
    Response r = send("DELETE", url("/manifests/" + d.str()), object);
    if (r.status != 202 && r.status != 200) fail(r, object);
}

} // namespace ctk::registry
