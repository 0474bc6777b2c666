#include "registry/session.hpp"

namespace ctk::registry {

Session::Session() : Session(Settings::load()) {}

Session::Session(Settings s) : settings(std::move(s)), transport(make_curl_transport), progress(&quiet_) {
    credentials = [](std::string_view host) { return CredentialStore::load().get(host); };
    retry.attempts = settings.retries;
}

std::string credential_host(const Endpoint& endpoint) {
    if (!endpoint.mirror) return endpoint.domain;
    std::string host = endpoint.base_url.substr(endpoint.base_url.find("://") + 3);
    return host;
}

std::shared_ptr<Authenticator> Session::authenticator(const Endpoint& endpoint,
                                                      std::vector<std::string> scopes) const {
    std::string host = credential_host(endpoint);
    return std::make_shared<Authenticator>(host, credentials ? credentials(host) : std::nullopt,
                                           std::move(scopes));
}

std::unique_ptr<Client> Session::client(const Endpoint& endpoint, const std::string& path,
                                        std::shared_ptr<Authenticator> auth) const {
    RetryPolicy r = retry;
    if (!r.on_retry) {
        Progress* p = progress;
        r.on_retry = [p](const std::string& why) { p->event("", "retrying", 0, 0, why); };
    }
    return std::make_unique<Client>(endpoint, path, std::move(auth), transport(), std::move(r));
}

} // namespace ctk::registry
