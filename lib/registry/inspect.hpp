// reg-fetch inspect, tags, login and logout: the registry questions that
// fetch no layers. inspect and tags print what `skopeo inspect` and
// `skopeo list-tags` print (same field names), so scripts written for one
// work with the other.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "oci/image.hpp"
#include "registry/session.hpp"

namespace ctk::registry {

struct InspectOptions {
    std::optional<oci::Platform> platform; // for an index: default the host's
    bool tags = true;                       // fill RepoTags (one more request)
};

// {"Name","Digest","RepoTags","Created","DockerVersion","Labels","Architecture",
//  "Variant"?,"Os","Layers","LayersData","Env"}
Json inspect(Session& session, std::string_view reference, const InspectOptions& options);
// The manifest (or index) bytes exactly as the registry serves them.
std::string inspect_raw(Session& session, std::string_view reference);
// The image config of the platform's image.
std::string inspect_config(Session& session, std::string_view reference,
                           const std::optional<oci::Platform>& platform);

// {"Repository","Tags"}
Json list_tags(Session& session, std::string_view reference);

// "127.0.0.1:5000", "https://index.docker.io/v1/", "docker.io" -> the registry domain.
std::string registry_domain(std::string_view registry);
// Checks the credentials against the registry (GET /v2/, through its token
// service when it has one), then stores them in the Docker config file.
// Returns the domain they were filed under.
// `store` false only checks them (dockerd's POST /auth: the client keeps them).
std::string login(Session& session, std::string_view registry, const Credentials& credentials, bool store = true);
// Removes stored credentials; throws not_found when there were none.
std::string logout(Session& session, std::string_view registry);

} // namespace ctk::registry
