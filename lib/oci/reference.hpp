// Image references, parsed and normalised exactly as Docker does
// (github.com/distribution/reference: ParseNormalizedNamed):
//     busybox                  -> docker.io/library/busybox
//     host:5000/a/b@sha256:…   -> domain host:5000, path a/b, digest
// Grammar (reference.go):
//     reference := name [ ":" tag ] [ "@" digest ]
//     name      := [domain "/"] path-component ["/" path-component]*
//     domain    := host [":" port]      host: DNS-like labels or "[" IPv6 "]"
//     path-component := [a-z0-9]+ (separator [a-z0-9]+)*    separator: "." "_" "__" "-"+
//     tag       := [\w][\w.-]{0,127}
#pragma once

#include <string>
#include <string_view>

namespace ctk::oci {

inline constexpr std::string_view docker_hub_domain = "docker.io";
inline constexpr std::string_view docker_hub_registry = "registry-1.docker.io";

struct Reference {
    std::string domain; // "" only for references parsed without normalisation
    std::string path;   // "library/busybox"
    std::string tag;    // "" when absent
    std::string digest; // "" when absent, else "sha256:…"

    // Docker's normalised parse (docker pull, docker run): adds docker.io and
    // library/. Does not add a default tag (see with_default_tag). Errors are
    // ErrorKind::invalid with Docker's wording, e.g.
    //     invalid reference format: repository name (library/Busybox) must be lowercase
    static Reference parse_normalized(std::string_view s);
    // The strict grammar without normalisation (reference.Parse).
    static Reference parse(std::string_view s);

    // ":latest" when neither tag nor digest is given (reference.TagNameOnly).
    Reference with_default_tag() const;

    std::string name() const;     // domain/path
    std::string str() const;      // name[:tag][@digest]
    std::string familiar() const; // busybox:latest for docker.io/library/busybox:latest
    std::string familiar_name() const;
    // The host to connect to: registry-1.docker.io for docker.io, else the domain.
    std::string registry_host() const;
    // tag or digest as the registry API names a manifest ("latest", "sha256:…").
    std::string manifest_ref() const { return digest.empty() ? (tag.empty() ? "latest" : tag) : digest; }
};

// True for a 64-character lowercase hex string (an image ID without "sha256:").
bool is_hex_identifier(std::string_view s);

} // namespace ctk::oci
