// Registry authentication (distribution-spec, Docker's token auth spec):
// a request without credentials gets 401 with a WWW-Authenticate challenge,
//     Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
// or  Basic realm="registry".
// For Bearer, a token comes from the realm (GET with basic credentials, or a
// POST with an identity/refresh token), then rides on every request until it
// expires. One Authenticator serves all the threads of one operation on one
// registry, so a token is fetched once and shared.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/credentials.hpp"
#include "registry/transport.hpp"

namespace ctk::registry {

struct Challenge {
    std::string scheme; // lower case: "bearer", "basic"
    std::map<std::string, std::string> params; // keys lower case
};

// Parses a WWW-Authenticate value (one or more challenges, quoted or token values).
std::vector<Challenge> parse_challenges(std::string_view header);
// Adds a token scope ("repository:tiny:pull"), joining the actions of one that
// names the same resource ("repository:tiny:pull,push").
void merge_scope(std::vector<std::string>& scopes, std::string_view scope);

class Authenticator {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    // `registry` names the host in messages; `scopes` are what the operation
    // needs ("repository:tiny:pull", "repository:copy:pull,push").
    Authenticator(std::string registry, std::optional<Credentials> credentials,
                  std::vector<std::string> scopes);

    // The Authorization header value to send ("" for none). Refreshes an expired
    // token through `transport` first. `generation` receives the credential
    // generation the value belongs to (for on_unauthorized).
    std::string authorization(Transport& transport, const Request& like, unsigned& generation);

    // After a 401: learns the challenge and gets new credentials. Returns false
    // when another attempt cannot help (no credentials for Basic, the same
    // credentials were refused already). Throws on a failed token request.
    bool on_unauthorized(Transport& transport, const Request& like, const Response& response,
                         unsigned generation);

    bool has_credentials() const noexcept { return credentials_.has_value(); }
    // Token requests made so far (for tests and progress).
    unsigned token_requests() const;
    void set_clock(Clock clock) { clock_ = std::move(clock); }

private:
    void fetch_token(Transport& transport, const Request& like);

    std::string registry_;
    std::optional<Credentials> credentials_;
    std::vector<std::string> scopes_;
    Clock clock_;

    mutable std::mutex mutex_;
    std::string scheme_; // "", "basic", "bearer"
    std::string realm_, service_;
    std::string token_;
    std::chrono::steady_clock::time_point expires_{};
    unsigned generation_ = 0;
    unsigned token_requests_ = 0;
    unsigned refused_generation_ = ~0u;
};

} // namespace ctk::registry
