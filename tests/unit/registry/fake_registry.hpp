// An in-memory registry behind the Transport interface, for unit tests of
// the client, the authentication and pull/push without any network: it
// serves manifests and blobs per repository (with Range), takes uploads and
// manifests, and can require Basic or Bearer auth, redirect blobs to another
// origin, and fail or cut transfers on demand. Every request is recorded.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "registry/transport.hpp"

namespace ctk::registry::test {

class FakeRegistry {
public:
    std::string origin = "http://registry.test:5000";
    std::string redirect_origin = "http://cdn.test"; // where blobs go with redirect_blobs
    std::string token_realm = "http://auth.test/token";

    // Auth: "" none, "basic", "bearer". Credentials user:pass.
    std::string auth;
    std::string user = "alice", password = "secret";
    int token_lifetime = 300;
    bool redirect_blobs = false;

    // Faults: the next N blob GETs answer 503; the next blob GET is cut after N bytes.
    int fail_blob_gets = 0;
    std::optional<size_t> cut_next_blob_after;
    bool ignore_range = false;
    size_t tags_page = 0; // tags per page when the client does not say (0: all)

    struct Manifest {
        std::string bytes;
        std::string media_type;
    };
    std::map<std::string, std::map<std::string, Manifest>> manifests; // repo -> tag/digest -> doc
    std::map<std::string, std::string> blobs;                           // digest -> bytes (shared)
    std::map<std::string, std::vector<std::string>> repo_blobs;         // repo -> digests
    std::vector<Request> requests;
    int tokens_issued = 0;

    // Adds a document under its digest and, when given, a tag.
    std::string add_manifest(const std::string& repo, const std::string& bytes,
                             const std::string& media_type, const std::string& tag = "");
    std::string add_blob(const std::string& repo, const std::string& bytes);
    bool repo_has_blob(const std::string& repo, const std::string& digest) const;

    // A transport bound to this registry (many may exist, one per thread).
    TransportFactory factory();

    struct Reply {
        Response response;
        std::optional<size_t> cut_after; // a connection reset after this many body bytes
    };
    Reply handle(const Request& req);

private:
    bool authorised(const Request& req) const;
    Reply unauthorised() const;
    std::mutex mutex_;
    std::map<std::string, std::string> uploads_; // upload id -> bytes so far
    std::map<std::string, std::string> upload_repo_;
    int next_upload_ = 0;
    std::vector<std::string> valid_tokens_;
};

} // namespace ctk::registry::test
