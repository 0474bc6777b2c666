#include "oci/reference.hpp"

#include <cctype>

#include "core/digest.hpp"
#include "core/error.hpp"

namespace ctk::oci {

static constexpr size_t name_total_length_max = 255;

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
static bool is_word(char c) { return is_alnum(c) || c == '_'; }

// path-component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
static bool valid_path_component(std::string_view s) {
    size_t i = 0;
    auto alnum_run = [&] {
        size_t start = i;
        while (i < s.size() && is_lower_alnum(s[i])) i++;
        return i > start;
    };
    if (!alnum_run()) return false;
    while (i < s.size()) {
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < s.size() && s[i] == '_') i++;
        } else if (s[i] == '-') {
            while (i < s.size() && s[i] == '-') i++;
        } else {
            return false;
        }
        if (!alnum_run()) return false;
    }
    return true;
}

static bool valid_remote_name(std::string_view s) {
    if (s.empty()) return false;
    size_t start = 0;
    for (;;) {
        size_t slash = s.find('/', start);
        if (!valid_path_component(s.substr(start, slash - start))) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

// A DNS-like label: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
static bool valid_domain_label(std::string_view s) {
    if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
    for (char c : s)
        if (!is_alnum(c) && c != '-') return false;
    return true;
}

// host [":" port], host := labels separated by "." | "[" [a-fA-F0-9:]+ "]"
static bool valid_domain(std::string_view s) {
    std::string_view host = s;
    if (!s.empty() && s.front() == '[') {
        size_t close = s.find(']');
        if (close == std::string_view::npos || close < 2) return false;
        for (char c : s.substr(1, close - 1))
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':') return false;
        std::string_view rest = s.substr(close + 1);
        if (rest.empty()) return true;
        host = {};
        s = rest;
    } else {
        size_t colon = s.find(':');
        host = s.substr(0, colon);
        s = colon == std::string_view::npos ? std::string_view{} : s.substr(colon);
        size_t start = 0;
        for (;;) {
            size_t dot = host.find('.', start);
            if (!valid_domain_label(host.substr(start, dot - start))) return false;
            if (dot == std::string_view::npos) break;
            start = dot + 1;
        }
        if (s.empty()) return true;
    }
    // s is ":port"
    if (s.size() < 2 || s.front() != ':') return false;
    for (char c : s.substr(1))
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

static bool valid_tag(std::string_view s) {
    if (s.empty() || s.size() > 128 || !is_word(s.front())) return false;
    for (char c : s)
        if (!is_word(c) && c != '.' && c != '-') return false;
    return true;
}

[[noreturn]] static void invalid_format(std::string_view s) {
    throw_invalid("invalid reference format: " + quote(s));
}

bool is_hex_identifier(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Reference Reference::parse(std::string_view s) {
    if (s.empty()) throw_invalid("invalid reference format: repository name must have at least one component");
    Reference r;
    std::string_view name = s;
    if (size_t at = s.find('@'); at != std::string_view::npos) {
        std::string_view dig = s.substr(at + 1);
        name = s.substr(0, at);
        size_t colon = dig.find(':');
        if (colon == std::string_view::npos || colon == 0) invalid_format(s);
        std::string_view alg = dig.substr(0, colon);
        if (!std::isalpha(static_cast<unsigned char>(alg.front()))) invalid_format(s);
        for (char c : alg)
            if (!is_alnum(c) && c != '-' && c != '_' && c != '+' && c != '.') invalid_format(s);
        std::string_view enc = dig.substr(colon + 1);
        if (enc.size() < 32) invalid_format(s);
        for (char c : enc)
            if (!std::isxdigit(static_cast<unsigned char>(c))) invalid_format(s);
        if (alg != "sha256" && alg != "sha384" && alg != "sha512")
            throw_invalid("invalid reference " + quote(s) + ": unsupported digest algorithm");
        if (!Digest::valid(dig))
            throw_invalid("invalid reference " + quote(s) + ": invalid checksum digest length");
        r.digest = std::string(dig);
    }
    size_t last_slash = name.rfind('/');
    size_t colon = name.rfind(':');
    if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
        std::string_view tag = name.substr(colon + 1);
        if (!valid_tag(tag)) invalid_format(s);
        r.tag = std::string(tag);
        name = name.substr(0, colon);
    }
    if (name.empty()) invalid_format(s);
    // The first component is a domain when it parses as one and more follows.
    size_t slash = name.find('/');
    std::string_view path = name;
    if (slash != std::string_view::npos && valid_domain(name.substr(0, slash))) {
        r.domain = std::string(name.substr(0, slash));
        path = name.substr(slash + 1);
    }
    if (!valid_remote_name(path)) {
        for (char c : path)
            if (std::isupper(static_cast<unsigned char>(c)))
                throw_invalid("invalid reference format: repository name (" + std::string(path) +
                              ") must be lowercase");
        invalid_format(s);
    }
    r.path = std::string(path);
    if (name.size() > name_total_length_max)
        throw_invalid("invalid reference format: repository name must not be more than 255 characters");
    return r;
}

Reference Reference::parse_normalized(std::string_view s) {
    if (is_hex_identifier(s))
        throw_invalid("invalid repository name (" + std::string(s) +
                      "), cannot specify 64-byte hexadecimal strings");
    std::string domain;
    std::string remainder;
    size_t slash = s.find('/');
    if (slash == std::string_view::npos) {
        domain = docker_hub_domain;
        remainder = "library/" + std::string(s);
    } else {
        std::string_view maybe = s.substr(0, slash);
        std::string_view rest = s.substr(slash + 1);
        bool lower = true;
        for (char c : maybe)
            if (std::isupper(static_cast<unsigned char>(c))) lower = false;
        if (maybe == "localhost" || maybe.find_first_of(".:") != std::string_view::npos || !lower) {
            domain = maybe == "index.docker.io" ? std::string(docker_hub_domain) : std::string(maybe);
            remainder = std::string(rest);
        } else {
            domain = docker_hub_domain;
            remainder = std::string(s);
        }
        if (domain == docker_hub_domain && remainder.find('/') == std::string::npos)
            remainder = "library/" + remainder;
    }
    std::string_view remote = remainder;
    if (size_t colon = remote.find(':'); colon != std::string_view::npos) remote = remote.substr(0, colon);
    for (char c : remote)
        if (std::isupper(static_cast<unsigned char>(c)))
            throw_invalid("invalid reference format: repository name (" + std::string(remote) +
                          ") must be lowercase");
    Reference r = parse(domain + "/" + remainder);
    if (r.domain.empty()) invalid_format(s);
    return r;
}

Reference Reference::with_default_tag() const {
    Reference r = *this;
    if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
    return r;
}

std::string Reference::name() const { return domain.empty() ? path : domain + "/" + path; }

// NAME[:TAG][@DIGEST]
static std::string with_tag_and_digest(std::string name, const Reference& r) {
    if (!r.tag.empty()) name += ":" + r.tag;
    if (!r.digest.empty()) name += "@" + r.digest;
    return name;
}

std::string Reference::str() const { return with_tag_and_digest(name(), *this); }

std::string Reference::familiar_name() const {
    if (domain != docker_hub_domain) return name();
    std::string p = path;
    if (p.rfind("library/", 0) == 0 && p.find('/', 8) == std::string::npos) p = p.substr(8);
    return p;
}

std::string Reference::familiar() const { return with_tag_and_digest(familiar_name(), *this); }

std::string Reference::registry_host() const {
    return domain == docker_hub_domain ? std::string(docker_hub_registry) : domain;
}

} // namespace ctk::oci
