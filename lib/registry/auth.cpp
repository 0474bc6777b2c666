#include "registry/auth.hpp"

#include <algorithm>
#include <cctype>

#include "core/json.hpp"
#include "core/strings.hpp"
#include "registry/settings.hpp"

namespace ctk::registry {

namespace {
bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~/:", c);
}
} // namespace

std::vector<Challenge> parse_challenges(std::string_view h) {
    std::vector<Challenge> out;
    size_t i = 0;
    auto skip = [&](const char* chars) {
        while (i < h.size() && std::strchr(chars, h[i])) i++;
    };
    auto token = [&] {
        size_t start = i;
        while (i < h.size() && is_token_char(h[i])) i++;
        return std::string(h.substr(start, i - start));
    };
    while (i < h.size()) {
        skip(" \t,");
        std::string word = token();
        if (word.empty()) {
            if (i < h.size()) i++;
            continue;
        }
        skip(" \t");
        if (i < h.size() && h[i] == '=' && !out.empty()) {
            // A parameter of the current challenge.
            i++;
            skip(" \t");
            std::string value;
            if (i < h.size() && h[i] == '"') {
                i++;
                while (i < h.size() && h[i] != '"') {
                    if (h[i] == '\\' && i + 1 < h.size()) i++;
                    value += h[i++];
                }
                if (i < h.size()) i++;
            } else {
                value = token();
            }
            out.back().params[to_lower(word)] = value;
        } else {
            out.push_back(Challenge{to_lower(word), {}});
        }
    }
    return out;
}

void merge_scope(std::vector<std::string>& scopes, std::string_view scope) {
    if (scope.empty()) return;
    // "repository:a/b:pull,push": type, name (may hold ':' with a port), actions.
    size_t first = scope.find(':'), last = scope.rfind(':');
    if (first == std::string_view::npos || first == last) {
        if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) scopes.emplace_back(scope);
        return;
    }
    std::string_view resource = scope.substr(0, last);
    for (auto& s : scopes) {
        if (s.size() <= resource.size() || s.compare(0, resource.size(), resource) != 0 || s[resource.size()] != ':')
            continue;
        std::vector<std::string> actions = split(s.substr(resource.size() + 1), ',');
        for (const auto& a : split(scope.substr(last + 1), ','))
            if (!a.empty() && std::find(actions.begin(), actions.end(), a) == actions.end()) actions.push_back(a);
        s = std::string(resource) + ":" + join(actions, ",");
        return;
    }
    scopes.emplace_back(scope);
}

Authenticator::Authenticator(std::string registry, std::optional<Credentials> credentials,
                             std::vector<std::string> scopes)
    : registry_(std::move(registry)), credentials_(std::move(credentials)), scopes_(std::move(scopes)),
      clock_([] { return std::chrono::steady_clock::now(); }) {}

unsigned Authenticator::token_requests() const {
    std::lock_guard lock(mutex_);
    return token_requests_;
}

std::string Authenticator::authorization(Transport& transport, const Request& like, unsigned& generation) {
    std::lock_guard lock(mutex_);
    if (scheme_ == "bearer" && (token_.empty() || clock_() >= expires_)) {
        fetch_token(transport, like);
        generation_++;
    }
    generation = generation_;
    if (scheme_ == "basic" && credentials_)
        return "Basic " + base64_encode(credentials_->username + ":" + credentials_->password);
    if (scheme_ == "bearer") return "Bearer " + token_;
    return "";
}

bool Authenticator::on_unauthorized(Transport& transport, const Request& like,
                                    const Response& response, unsigned generation) {
    std::lock_guard lock(mutex_);
    // Someone else renewed the credentials since that request went out.
    if (generation != generation_) return true;
    std::vector<Challenge> challenges;
    for (const auto& v : response.header_values("www-authenticate"))
        for (auto& c : parse_challenges(v)) challenges.push_back(std::move(c));
    auto find = [&](const char* scheme) -> const Challenge* {
        for (const auto& c : challenges)
            if (c.scheme == scheme) return &c;
        return nullptr;
    };
    if (const Challenge* bearer = find("bearer")) {
        auto realm = bearer->params.find("realm");
        if (realm == bearer->params.end() || realm->second.empty())
            throw Error("registry " + registry_ + ": Bearer challenge without a realm", ErrorKind::remote);
        realm_ = realm->second;
        auto service = bearer->params.find("service");
        service_ = service == bearer->params.end() ? "" : service->second;
        if (auto scope = bearer->params.find("scope"); scope != bearer->params.end())
            for (const auto& s : split(scope->second, ' ')) merge_scope(scopes_, s);
        scheme_ = "bearer";
        fetch_token(transport, like);
        generation_++;
        return true;
    }
    if (find("basic")) {
        if (!credentials_ || credentials_->password.empty() || scheme_ == "basic") return false;
        scheme_ = "basic";
        generation_++;
        return true;
    }
    return false;
}

void Authenticator::fetch_token(Transport& transport, const Request& like) {
    Request req;
    std::string realm_origin = url_origin(realm_);
    bool same_origin = realm_origin == url_origin(like.url);
    if (same_origin) {
        req.insecure = like.insecure;
        req.ca_file = like.ca_file;
    }
    req.no_proxy = is_loopback_host(realm_origin.substr(realm_origin.find("://") + 3));
    if (credentials_ && !credentials_->identity_token.empty()) {
        // OAuth2 refresh-token grant (Docker's token auth spec, oauth.md).
        req.method = "POST";
        req.url = realm_;
        req.set_header("Content-Type", "application/x-www-form-urlencoded");
        req.body = "grant_type=refresh_token&client_id=ctk&refresh_token=" +
                   url_encode(credentials_->identity_token);
        if (!service_.empty()) req.body += "&service=" + url_encode(service_);
        if (!scopes_.empty()) req.body += "&scope=" + url_encode(join(scopes_, " "));
    } else {
        req.url = realm_;
        if (!service_.empty()) req.url = add_query(req.url, "service", service_);
        for (const auto& s : scopes_) req.url = add_query(req.url, "scope", s);
        if (credentials_ && !credentials_->username.empty())
            req.set_header("Authorization",
                           "Basic " + base64_encode(credentials_->username + ":" + credentials_->password));
    }
    token_requests_++;
    Response r;
    try {
        r = transport.perform(req, nullptr, 1u << 20);
    } catch (const Error& e) {
        throw Error("registry " + registry_ + ": token service " + realm_ + ": " + e.what(),
                    ErrorKind::remote);
    }
    if (!r.ok()) {
        std::string detail;
        try {
            Json j = parse_json_text(r.body, "token response");
            if (j.contains("errors") && j["errors"].is_array() && !j["errors"].empty())
                detail = j["errors"][0].value("message", "");
            else if (j.contains("details")) detail = j.value("details", "");
            else if (j.contains("error")) detail = j.value("error", "");
        } catch (const std::exception&) {
        }
        std::string msg = "registry " + registry_ + ": token service " + realm_ + ": HTTP " +
                          std::to_string(r.status);
        if (r.status == 401 || r.status == 403)
            msg += credentials_ ? " (credentials refused)" : " (credentials needed: reg-fetch login)";
        if (!detail.empty()) msg += ": " + detail;
        throw Error(msg, ErrorKind::remote);
    }
    Json j = parse_json(r.body, "registry " + registry_ + ": token response");
    std::string token;
    if (j.is_object()) {
        if (j.contains("token") && j["token"].is_string()) token = j["token"];
        else if (j.contains("access_token") && j["access_token"].is_string()) token = j["access_token"];
    }
    if (token.empty()) throw Error("registry " + registry_ + ": token response without a token", ErrorKind::remote);
    int64_t expires_in = 60; // token spec: 60 s when the service does not say
    if (j.contains("expires_in") && j["expires_in"].is_number_integer())
        expires_in = std::max<int64_t>(j["expires_in"].get<int64_t>(), 1);
    token_ = token;
    // Renew a little early: the token must still be good when the request arrives.
    auto lifetime = std::chrono::milliseconds(expires_in * 1000);
    auto margin = std::min<std::chrono::milliseconds>(lifetime / 10, std::chrono::seconds(10));
    expires_ = clock_() + lifetime - margin;
}

} // namespace ctk::registry
