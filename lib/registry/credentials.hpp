// Registry credentials where Docker keeps them: $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json. Read the way the docker CLI reads them:
//   "credHelpers": {"host": "name"}   docker-credential-<name> for that host,
//   "credsStore": "name"              docker-credential-<name> for all others,
//   "auths": {"host": {"auth": base64("user:password")} | {"identitytoken": …}}.
// The helpers speak the docker-credential-helpers protocol: `get` reads the
// server URL on stdin and prints {"ServerURL","Username","Secret"}; `store`
// reads that object; `erase` reads the server URL. A Username of "<token>"
// means Secret is an identity (OAuth2 refresh) token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/json.hpp"

namespace ctk::registry {

struct Credentials {
    std::string username;
    std::string password;
    std::string identity_token; // an OAuth2 refresh token instead of a password
};

// The key Docker files a registry's credentials under: "https://index.docker.io/v1/"
// for Docker Hub, else the host[:port].
std::string credential_key(std::string_view domain);

class CredentialStore {
public:
    // Reads the config file (missing: empty).
    static CredentialStore load();
    static std::string config_path();

    // Credentials for a registry domain ("docker.io", "127.0.0.1:5000"); nullopt
    // when none are configured.
    std::optional<Credentials> get(std::string_view domain) const;
    // Saves them (through the host's helper when one is configured), as `docker login`.
    void store(std::string_view domain, const Credentials& c);
    // Removes them; false when there were none.
    bool erase(std::string_view domain);

    // The helper that serves `domain` ("" when credentials are in the file).
    std::string helper_for(std::string_view domain) const;

private:
    std::string path_;
    Json config_ = Json::object();
};

std::string base64_encode(std::string_view in);
// Throws ErrorKind::invalid on bad input.
std::string base64_decode(std::string_view in);

} // namespace ctk::registry
