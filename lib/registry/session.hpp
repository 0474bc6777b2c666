// What every registry operation (pull, push, inspect, tags, login) needs:
// the settings, where credentials come from, how to make a transport, the
// retry policy and the progress sink. Tests replace the transport and the
// credentials; the tool uses the defaults.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/auth.hpp"
#include "registry/client.hpp"
#include "registry/credentials.hpp"
#include "registry/progress.hpp"
#include "registry/settings.hpp"
#include "registry/transport.hpp"

namespace ctk::registry {

class Session {
public:
    // Settings from the config file, credentials from the Docker config, libcurl.
    Session();
    explicit Session(Settings settings);

    Settings settings;
    TransportFactory transport;
    // Credentials for a host ("docker.io", "127.0.0.1:5000", a mirror's host).
    std::function<std::optional<Credentials>(std::string_view host)> credentials;
    RetryPolicy retry;
    Progress* progress;

    // An authenticator for `scopes` on `endpoint`'s host (shared by the clients
    // of one operation).
    std::shared_ptr<Authenticator> authenticator(const Endpoint& endpoint,
                                                 std::vector<std::string> scopes) const;
    std::unique_ptr<Client> client(const Endpoint& endpoint, const std::string& path,
                                   std::shared_ptr<Authenticator> auth) const;

private:
    QuietProgress quiet_;
};

// The host whose credentials an endpoint uses: the reference's domain for the
// registry itself, the mirror's own host for a mirror.
std::string credential_host(const Endpoint& endpoint);

} // namespace ctk::registry
