// Content digests (OCI image-spec descriptor.md "Digests"): "algorithm:encoded".
// SHA-256 through OpenSSL EVP, computed as bytes stream past.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ctk {

class Digest {
public:
    Digest() = default;
    // Parses and validates "sha256:<64 lowercase hex>" (or sha384, sha512);
    // throws ErrorKind::invalid naming the bad string.
    static Digest parse(std::string_view s);
    static bool valid(std::string_view s) noexcept;
    static Digest sha256_of(std::string_view data);

    const std::string& algorithm() const noexcept { return algorithm_; }
    const std::string& encoded() const noexcept { return encoded_; }
    std::string str() const { return algorithm_ + ":" + encoded_; }
    // First 12 hex characters, as docker shows IDs.
    std::string short_id() const { return encoded_.substr(0, 12); }
    bool empty() const noexcept { return encoded_.empty(); }

    friend bool operator==(const Digest&, const Digest&) = default;
    friend auto operator<=>(const Digest&, const Digest&) = default;

private:
    Digest(std::string alg, std::string enc) : algorithm_(std::move(alg)), encoded_(std::move(enc)) {}
    std::string algorithm_;
    std::string encoded_;
};

// Streaming hasher: update() as bytes pass, digest() at the end.
class Hasher {
public:
    explicit Hasher(std::string_view algorithm = "sha256");
    ~Hasher();
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    void update(const void* data, size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    uint64_t size() const noexcept { return size_; }
    // Finishes the hash; the hasher is spent afterwards.
    Digest digest();

private:
    struct State;
    std::unique_ptr<State> state_;
    std::string algorithm_;
    uint64_t size_ = 0;
};

// Throws ErrorKind::invalid "<what>: digest mismatch: expected X, got Y" (or size mismatch).
void verify_digest(std::string_view what, const Digest& expected, const Digest& actual);
void verify_size(std::string_view what, int64_t expected, uint64_t actual);

} // namespace ctk
