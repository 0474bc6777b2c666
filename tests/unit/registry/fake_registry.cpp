#include "fake_registry.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/json.hpp"
#include "core/strings.hpp"
#include "registry/credentials.hpp"

namespace ctk::registry::test {

namespace {

std::string url_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i] == '+' ? ' ' : s[i];
        }
    }
    return out;
}

std::multimap<std::string, std::string> query_of(const std::string& url) {
    std::multimap<std::string, std::string> q;
    size_t qm = url.find('?');
    if (qm == std::string::npos) return q;
    for (const auto& part : split(url.substr(qm + 1), '&')) {
        auto kv = split_once(part, '=');
        if (kv) q.emplace(url_decode(kv->first), url_decode(kv->second));
        else q.emplace(url_decode(part), "");
    }
    return q;
}

std::string query_value(const std::multimap<std::string, std::string>& q, const std::string& k) {
    auto it = q.find(k);
    return it == q.end() ? "" : it->second;
}

Response status(long code, std::string body = "") {
    Response r;
    r.status = code;
    r.body = std::move(body);
    return r;
}

Response error(long code, const std::string& error_code, const std::string& message) {
    return status(code, Json{{"errors", {{{"code", error_code}, {"message", message}}}}}.dump());
}

class FakeTransport final : public Transport {
public:
    explicit FakeTransport(FakeRegistry* r) : registry_(r) {}
    Response perform(const Request& req, const BodySink* sink, size_t max_body) override {
        FakeRegistry::Reply reply = registry_->handle(req);
        Response& r = reply.response;
        if (req.method == "HEAD") r.body.clear();
        if (r.ok() && sink) {
            std::string body = std::move(r.body);
            r.body.clear();
            size_t limit = reply.cut_after ? std::min(*reply.cut_after, body.size()) : body.size();
            for (size_t off = 0; off < limit; off += 1000) {
                size_t n = std::min<size_t>(1000, limit - off);
                if (!(*sink)(r, std::string_view(body).substr(off, n)))
                    throw TransportError(TransportError::Kind::aborted, "transfer stopped");
            }
            if (reply.cut_after)
                throw TransportError(TransportError::Kind::reset, "Connection reset by peer");
            return r;
        }
        if (r.body.size() > max_body) {
            if (r.ok()) throw TransportError(TransportError::Kind::too_large, "too large");
            r.body.resize(max_body);
            r.body_truncated = true;
        }
        return r;
    }

private:
    FakeRegistry* registry_;
};

} // namespace

std::string FakeRegistry::add_manifest(const std::string& repo, const std::string& bytes,
                                       const std::string& media_type, const std::string& tag) {
    std::string digest = Digest::sha256_of(bytes).str();
    manifests[repo][digest] = {bytes, media_type};
    if (!tag.empty()) manifests[repo][tag] = {bytes, media_type};
    return digest;
}

std::string FakeRegistry::add_blob(const std::string& repo, const std::string& bytes) {
    std::string digest = Digest::sha256_of(bytes).str();
    blobs[digest] = bytes;
    repo_blobs[repo].push_back(digest);
    return digest;
}

bool FakeRegistry::repo_has_blob(const std::string& repo, const std::string& digest) const {
    auto it = repo_blobs.find(repo);
    return it != repo_blobs.end() && std::count(it->second.begin(), it->second.end(), digest) > 0;
}

TransportFactory FakeRegistry::factory() {
    return [this] { return std::unique_ptr<Transport>(new FakeTransport(this)); };
}

bool FakeRegistry::authorised(const Request& req) const {
    std::string a = req.header("Authorization");
    if (auth.empty()) return true;
    if (auth == "basic") return a == "Basic " + base64_encode(user + ":" + password);
    if (auth == "bearer")
        return a.starts_with("Bearer ") &&
               std::count(valid_tokens_.begin(), valid_tokens_.end(), a.substr(7)) > 0;
    return false;
}

FakeRegistry::Reply FakeRegistry::unauthorised() const {
    Reply r{error(401, "UNAUTHORIZED", "authentication required"), std::nullopt};
    if (auth == "basic") r.response.headers.emplace_back("www-authenticate", "Basic realm=\"fake\"");
    else
        r.response.headers.emplace_back("www-authenticate", "Bearer realm=\"" + token_realm +
                                                                "\",service=\"registry.test\"");
    return r;
}

FakeRegistry::Reply FakeRegistry::handle(const Request& req) {
    std::lock_guard lock(mutex_);
    requests.push_back(req);
    const std::string& url = req.url;
    auto q = query_of(url);
    std::string path = url.substr(0, url.find('?'));

    if (url.starts_with(token_realm)) {
        if (req.header("Authorization") != "Basic " + base64_encode(user + ":" + password))
            return {status(401, R"({"details":"bad credentials"})"), std::nullopt};
        std::string token = "tok-" + std::to_string(++tokens_issued);
        valid_tokens_.push_back(token);
        return {status(200, Json{{"token", token}, {"expires_in", token_lifetime}}.dump()), std::nullopt};
    }
    if (url.starts_with(redirect_origin + "/blob/")) {
        std::string digest = path.substr((redirect_origin + "/blob/").size());
        Response r = status(200, blobs.at(digest));
        return {r, std::nullopt};
    }
    if (!url.starts_with(origin + "/v2/")) return {status(404), std::nullopt};
    std::string rest = path.substr((origin + "/v2/").size());
    if (!authorised(req)) {
        // Forget tokens on a 401 so a refreshed one is needed.
        return unauthorised();
    }
    if (rest.empty()) return {status(200, "{}"), std::nullopt};

    auto route = [&](const char* marker, std::string& repo, std::string& tail) {
        size_t p = rest.find(marker);
        if (p == std::string::npos) return false;
        repo = rest.substr(0, p);
        tail = rest.substr(p + std::strlen(marker));
        return true;
    };
    std::string repo, tail;
    if (route("/manifests/", repo, tail)) {
        if (req.method == "PUT") {
            std::string digest = add_manifest(repo, req.body, req.header("Content-Type"),
                                              Digest::valid(tail) ? "" : tail);
            Response r = status(201);
            r.headers.emplace_back("docker-content-digest", digest);
            return {r, std::nullopt};
        }
        if (req.method == "DELETE") {
            manifests[repo].erase(tail);
            return {status(202), std::nullopt};
        }
        auto rit = manifests.find(repo);
        if (rit == manifests.end() || !rit->second.count(tail))
            return {error(404, "MANIFEST_UNKNOWN", "manifest unknown"), std::nullopt};
        const Manifest& m = rit->second.at(tail);
        Response r = status(200, m.bytes);
        r.headers.emplace_back("content-type", m.media_type);
        r.headers.emplace_back("docker-content-digest", Digest::sha256_of(m.bytes).str());
        r.headers.emplace_back("content-length", std::to_string(m.bytes.size()));
        return {r, std::nullopt};
    }
    if (route("/blobs/uploads/", repo, tail)) {
        if (req.method == "POST") {
            std::string mount = query_value(q, "mount");
            if (!mount.empty()) {
                std::string from = query_value(q, "from");
                if (repo_has_blob(from, mount)) {
                    repo_blobs[repo].push_back(mount);
                    return {status(201), std::nullopt};
                }
            }
            std::string id = std::to_string(++next_upload_);
            uploads_[id] = "";
            upload_repo_[id] = repo;
            Response r = status(202);
            r.headers.emplace_back("location", "/v2/" + repo + "/blobs/uploads/" + id);
            return {r, std::nullopt};
        }
        std::string id = tail;
        if (!uploads_.count(id)) return {error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown"), std::nullopt};
        auto body_of = [&] {
            if (req.upload_fd < 0) return req.body;
            std::string data(req.upload_length, '\0');
            ssize_t n = ::pread(req.upload_fd, data.data(), data.size(), static_cast<off_t>(req.upload_offset));
            data.resize(n > 0 ? static_cast<size_t>(n) : 0);
            return data;
        };
        if (req.method == "PATCH") {
            std::string range = req.header("Content-Range");
            auto start = parse_uint(range.substr(0, range.find('-')));
            if (!start || *start != uploads_[id].size())
                return {error(416, "BLOB_UPLOAD_INVALID", "bad range"), std::nullopt};
            uploads_[id] += body_of();
            Response r = status(202);
            r.headers.emplace_back("location", "/v2/" + repo + "/blobs/uploads/" + id);
            return {r, std::nullopt};
        }
        if (req.method == "PUT") {
            uploads_[id] += body_of();
            std::string digest = query_value(q, "digest");
            if (Digest::sha256_of(uploads_[id]).str() != digest)
                return {error(400, "DIGEST_INVALID", "provided digest did not match uploaded content"),
                        std::nullopt};
            blobs[digest] = uploads_[id];
            repo_blobs[repo].push_back(digest);
            uploads_.erase(id);
            Response r = status(201);
            r.headers.emplace_back("docker-content-digest", digest);
            return {r, std::nullopt};
        }
        if (req.method == "DELETE") {
            uploads_.erase(id);
            return {status(204), std::nullopt};
        }
    }
    if (route("/blobs/", repo, tail)) {
        if (!repo_has_blob(repo, tail)) return {error(404, "BLOB_UNKNOWN", "blob unknown"), std::nullopt};
        if (req.method == "HEAD") return {status(200), std::nullopt};
        if (fail_blob_gets > 0) {
            fail_blob_gets--;
            return {error(503, "UNAVAILABLE", "try later"), std::nullopt};
        }
        if (redirect_blobs) {
            Response r = status(307);
            r.headers.emplace_back("location", redirect_origin + "/blob/" + tail);
            return {r, std::nullopt};
        }
        const std::string& data = blobs.at(tail);
        std::string range = req.header("Range");
        Reply reply;
        if (!range.empty() && !ignore_range) {
            auto from = parse_uint(range.substr(6, range.find('-') - 6));
            if (!from || *from >= data.size()) return {status(416), std::nullopt};
            reply.response = status(206, data.substr(*from));
            reply.response.headers.emplace_back(
                "content-range", "bytes " + std::to_string(*from) + "-" + std::to_string(data.size() - 1) +
                                     "/" + std::to_string(data.size()));
        } else {
            reply.response = status(200, data);
        }
        if (cut_next_blob_after && *cut_next_blob_after < data.size()) {
            reply.cut_after = cut_next_blob_after;
            cut_next_blob_after.reset();
        }
        return reply;
    }
    if (route("/tags/list", repo, tail)) {
        std::vector<std::string> tags;
        for (const auto& [name, m] : manifests[repo])
            if (!Digest::valid(name)) tags.push_back(name);
        std::string last = query_value(q, "last");
        size_t n = tags_page ? tags_page : tags.size();
        if (auto v = parse_uint(query_value(q, "n"))) n = *v;
        std::vector<std::string> page;
        for (const auto& t : tags)
            if (t > last && page.size() < n) page.push_back(t);
        Response r = status(200, Json{{"name", repo}, {"tags", page}}.dump());
        if (!page.empty() && page.back() != tags.back())
            r.headers.emplace_back("link", "</v2/" + repo + "/tags/list?n=" + std::to_string(n) +
                                               "&last=" + page.back() + ">; rel=\"next\"");
        return {r, std::nullopt};
    }
    return {status(404), std::nullopt};
}

} // namespace ctk::registry::test
