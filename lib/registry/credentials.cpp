#include "registry/credentials.hpp"

#include <cstdlib>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "oci/reference.hpp"

namespace ctk::registry {

static constexpr std::string_view hub_key = "https://index.docker.io/v1/";

std::string credential_key(std::string_view domain) {
    return domain == oci::docker_hub_domain ? std::string(hub_key) : std::string(domain);
}

// "https://host:port/v1/" -> "host:port"
static std::string key_host(std::string_view key) {
    if (size_t p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
    return to_lower(key.substr(0, key.find('/')));
}

static bool key_matches(std::string_view key, std::string_view domain) {
    std::string host = key_host(key);
    if (domain == oci::docker_hub_domain)
        return host == "index.docker.io" || host == "docker.io" || host == oci::docker_hub_registry;
    return host == to_lower(domain);
}

std::string base64_encode(std::string_view in) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += table[(v >> s) & 63];
    }
    if (i + 1 == in.size()) {
        uint32_t v = uint8_t(in[i]) << 16;
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string base64_decode(std::string_view in) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=' || c == '\n' || c == '\r') continue;
        int v = value(c);
        if (v < 0) throw_invalid("invalid base64 data");
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

std::string CredentialStore::config_path() {
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return std::string(d) + "/config.json";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/root") + "/.docker/config.json";
}

CredentialStore CredentialStore::load() {
    CredentialStore s;
    s.path_ = config_path();
    if (auto text = read_file_if_exists(s.path_, 4u << 20)) {
        s.config_ = parse_json(*text, s.path_);
        if (!s.config_.is_object()) throw_invalid(s.path_ + ": expected a JSON object");
    }
    return s;
}

std::string CredentialStore::helper_for(std::string_view domain) const {
    if (auto it = config_.find("credHelpers"); it != config_.end() && it->is_object())
        for (const auto& [key, name] : it->items())
            if (key_matches(key, domain) && name.is_string()) return name.get<std::string>();
    if (auto it = config_.find("credsStore"); it != config_.end() && it->is_string())
        return it->get<std::string>();
    return "";
}

static ProcessResult run_helper(const std::string& helper, const char* verb, const std::string& input) {
    std::string program = "docker-credential-" + helper;
    try {
        RunOptions o;
        o.input = input;
        o.timeout_ms = 60000;
        return run_process({program, verb}, o);
    } catch (const Error& e) {
        throw e.wrap("credential helper " + program);
    }
}

static std::string helper_message(const ProcessResult& r) {
    std::string text(trim(r.out.empty() ? r.err : r.out));
    return text.empty() ? "exit status " + std::to_string(r.status) : text;
}

std::optional<Credentials> CredentialStore::get(std::string_view domain) const {
    std::string helper = helper_for(domain);
    if (!helper.empty()) {
        ProcessResult r = run_helper(helper, "get", credential_key(domain));
        if (!r.ok()) {
            if (r.out.find("credentials not found") != std::string::npos ||
                r.err.find("credentials not found") != std::string::npos)
                return std::nullopt;
            throw Error("credential helper docker-credential-" + helper + " get " +
                            credential_key(domain) + ": " + helper_message(r),
                        ErrorKind::failed);
        }
        Json j = parse_json(r.out, "credential helper docker-credential-" + helper);
        Credentials c;
        c.username = j.value("Username", "");
        std::string secret = j.value("Secret", "");
        if (c.username == "<token>") {
            c.username.clear();
            c.identity_token = secret;
        } else {
            c.password = secret;
        }
        if (c.username.empty() && c.password.empty() && c.identity_token.empty()) return std::nullopt;
        return c;
    }
    auto auths = config_.find("auths");
    if (auths == config_.end() || !auths->is_object()) return std::nullopt;
    for (const auto& [key, entry] : auths->items()) {
        if (!key_matches(key, domain) || !entry.is_object()) continue;
        Credentials c;
        if (auto a = entry.find("auth"); a != entry.end() && a->is_string() && !a->get<std::string>().empty()) {
            std::string plain;
            try {
                plain = base64_decode(a->get<std::string>());
            } catch (const Error& e) {
                throw e.wrap(path_ + ": auths." + key);
            }
            auto parts = split_once(plain, ':');
            if (!parts) throw_invalid(path_ + ": auths." + key + ": auth is not base64(user:password)");
            c.username = parts->first;
            c.password = parts->second;
        } else {
            c.username = entry.value("username", "");
            c.password = entry.value("password", "");
        }
        c.identity_token = entry.value("identitytoken", "");
        if (c.username.empty() && c.password.empty() && c.identity_token.empty()) continue;
        return c;
    }
    return std::nullopt;
}

static void save(const std::string& path, const Json& config) {
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) make_dirs(path.substr(0, slash), 0700);
    write_file_atomic(path, config.dump(1, '\t') + "\n", 0600);
}

void CredentialStore::store(std::string_view domain, const Credentials& c) {
    std::string key = credential_key(domain);
    std::string helper = helper_for(domain);
    if (!helper.empty()) {
        Json j = {{"ServerURL", key},
                  {"Username", c.identity_token.empty() ? c.username : "<token>"},
                  {"Secret", c.identity_token.empty() ? c.password : c.identity_token}};
        ProcessResult r = run_helper(helper, "store", j.dump());
        if (!r.ok())
            throw Error("credential helper docker-credential-" + helper + " store " + key + ": " +
                        helper_message(r));
        // The file keeps an empty entry, as docker does, so `logout` knows the host.
        config_["auths"][key] = Json::object();
    } else {
        Json entry = Json::object();
        entry["auth"] = base64_encode(c.username + ":" + c.password);
        if (!c.identity_token.empty()) entry["identitytoken"] = c.identity_token;
        config_["auths"][key] = entry;
    }
    save(path_, config_);
}

bool CredentialStore::erase(std::string_view domain) {
    bool found = false;
    std::string helper = helper_for(domain);
    if (!helper.empty() && get(domain)) {
        ProcessResult r = run_helper(helper, "erase", credential_key(domain));
        if (!r.ok())
            throw Error("credential helper docker-credential-" + helper + " erase " +
                        credential_key(domain) + ": " + helper_message(r));
        found = true;
    }
    if (auto auths = config_.find("auths"); auths != config_.end() && auths->is_object()) {
        std::vector<std::string> keys;
        for (const auto& [key, entry] : auths->items())
            if (key_matches(key, domain)) keys.push_back(key);
        for (const auto& k : keys) {
            const Json& entry = (*auths)[k];
            if (helper.empty() && entry.is_object() && !entry.empty()) found = true;
            auths->erase(k);
        }
        if (!keys.empty()) save(path_, config_);
    }
    return found;
}

} // namespace ctk::registry
