// A client of one repository on one registry endpoint: the OCI
// distribution-spec requests reg-fetch makes, with authentication
// (auth.hpp), redirects, retries with backoff, and errors that name the
// registry, the repository and the object:
//     registry 127.0.0.1:5000: repository tiny: manifest "nope": HTTP 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)
// One Client per thread (it owns its transport); threads share the Authenticator.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.hpp"
#include "oci/image.hpp"
#include "oci/layout.hpp"
#include "registry/auth.hpp"
#include "registry/settings.hpp"
#include "registry/transport.hpp"

namespace ctk::registry {

// The largest manifest or index reg-fetch accepts (distribution-spec: registries
// should accept manifests of at least 4 MiB; larger ones are refused).
inline constexpr size_t max_manifest_size = 4u << 20;
inline constexpr size_t max_config_size = 16u << 20;

// The Accept header for manifests: both OCI and Docker schema 2 forms.
std::string manifest_accept();

struct RetryPolicy {
    unsigned attempts = 4;                      // tries of one request in all
    std::chrono::milliseconds first_delay{200}; // doubled after each failure, at most 5 s
    std::function<void(std::chrono::milliseconds)> sleep; // default: sleep_for
    std::function<void(const std::string& why)> on_retry; // progress: "retrying …"
};

// A manifest or index as the registry sent it: bytes kept verbatim.
struct Document {
    std::string bytes;
    std::string media_type;
    Digest digest;
};

class Client {
public:
    Client(Endpoint endpoint, std::string path, std::shared_ptr<Authenticator> auth,
           std::unique_ptr<Transport> transport, RetryPolicy retry = {});

    const Endpoint& endpoint() const noexcept { return endpoint_; }
    // The repository on this endpoint (with a mirror's prefix).
    const std::string& repository() const noexcept { return repository_; }
    // "registry 127.0.0.1:5000: repository tiny"
    std::string where() const;
    std::string url(std::string_view tail) const; // base + "/v2/" + repository + tail

    // One request, with credentials for the registry's own origin only (never
    // to a redirect target elsewhere), up to 10 redirects, and retries of
    // transient failures and 5xx when `retry` is set. Returns every response
    // that is not a transport failure; callers check the status.
    Response send(Request req, std::string_view object, const BodySink* sink = nullptr,
                  size_t max_body = 1u << 20, bool retry = true);
    // A request with no body and no headers of its own: `method` on `url`.
    Response send(const char* method, std::string url, std::string_view object);
    // Throws the error for a failed response: kind not_found for 404, remote otherwise.
    [[noreturn]] void fail(const Response& r, std::string_view object) const;

    // GET a manifest or index by tag or digest. Verifies the digest against a
    // digest reference and against Docker-Content-Digest; refuses more than
    // 4 MiB and media types that are not an image manifest or index.
    Document get_manifest(std::string_view reference);
    // HEAD of a manifest: its descriptor, nullopt when the registry lacks it.
    std::optional<oci::Descriptor> head_manifest(std::string_view reference);
    // A small blob (a config), verified.
    std::string get_blob(const oci::Descriptor& d, size_t max_size = max_config_size);
    // Streams a blob into `w`, continuing from w.size() with a Range request,
    // retrying transient failures (each retry continues where the last one
    // stopped). Checks the size; the caller verifies the digest (w.verify).
    // `progress` gets the bytes so far; `cancel` stops the transfer.
    void download_blob(const oci::Descriptor& d, oci::BlobWriter& w,
                       const std::function<void(uint64_t)>& progress = {},
                       const std::atomic<bool>* cancel = nullptr);

    bool blob_exists(const Digest& d);
    // Tags, following the Link header through every page.
    std::vector<std::string> tags();

    // Push (distribution-spec "Pushing blobs", "Pushing manifests").
    // Cross-repository mount; true when the registry mounted it (201).
    bool mount_blob(const Digest& d, const std::string& from_repository);
    // Uploads `size` bytes of `fd`: one PUT when size <= chunk_size, else PATCH
    // chunks of chunk_size and a closing PUT.
    void upload_blob(const Digest& d, int fd, uint64_t size, uint64_t chunk_size,
                     const std::function<void(uint64_t)>& progress = {});
    // PUT the manifest bytes under `reference` (tag or digest); returns the digest
    // the registry reports (checked against ours).
    Digest put_manifest(std::string_view reference, const std::string& bytes, const std::string& media_type);
    void delete_manifest(const Digest& d);

private:
    void backoff(unsigned failures, const std::string& why);
    std::string start_upload(const std::string& object, const std::string& query = "");

    Endpoint endpoint_;
    std::string repository_;
    std::shared_ptr<Authenticator> auth_;
    std::unique_ptr<Transport> transport_;
    RetryPolicy retry_;
};

// "Not Found" for 404 and so on.
std::string status_text(long status);

} // namespace ctk::registry
