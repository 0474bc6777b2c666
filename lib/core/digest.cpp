#include "core/digest.hpp"

// SHA-256 goes through OpenSSL's low-level API: the same (SHA-NI) code as
// EVP, without the provider start-up of OpenSSL 3's EVP_DigestInit, which
// costs ~1.5 ms of CPU in every process that hashes a manifest.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "core/error.hpp"

namespace ctk {

static size_t hex_length(std::string_view alg) {
    if (alg == "sha256") return 64;
    if (alg == "sha384") return 96;
    if (alg == "sha512") return 128;
    return 0;
}

static bool is_lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool Digest::valid(std::string_view s) noexcept {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    size_t len = hex_length(s.substr(0, colon));
    std::string_view enc = s.substr(colon + 1);
    return len != 0 && enc.size() == len && is_lower_hex(enc);
}

Digest Digest::parse(std::string_view s) {
    if (!valid(s)) throw_invalid("invalid digest " + quote(s));
    auto colon = s.find(':');
    return Digest(std::string(s.substr(0, colon)), std::string(s.substr(colon + 1)));
}

Digest Digest::sha256_of(std::string_view data) {
    Hasher h;
    h.update(data);
    return h.digest();
}

struct Hasher::State {
    EVP_MD_CTX* ctx = nullptr; // sha384, sha512
    SHA256_CTX sha256;
    ~State() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(std::string_view algorithm) : state_(std::make_unique<State>()), algorithm_(algorithm) {
    if (algorithm == "sha256") {
        SHA256_Init(&state_->sha256);
        return;
    }
    const EVP_MD* md = algorithm == "sha384"   ? EVP_sha384()
                       : algorithm == "sha512" ? EVP_sha512()
                                               : nullptr;
    if (!md) throw_invalid("unsupported digest algorithm " + quote(algorithm));
    state_->ctx = EVP_MD_CTX_new();
    if (!state_->ctx || EVP_DigestInit_ex(state_->ctx, md, nullptr) != 1)
        throw Error("EVP_DigestInit failed");
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t size) {
    if (size == 0) return;
    if (state_->ctx)
        EVP_DigestUpdate(state_->ctx, data, size);
    else
        SHA256_Update(&state_->sha256, data, size);
    size_ += size;
}

Digest Hasher::digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = SHA256_DIGEST_LENGTH;
    if (state_->ctx)
        EVP_DigestFinal_ex(state_->ctx, md, &len);
    else
        SHA256_Final(md, &state_->sha256);
    static const char hex[] = "0123456789abcdef";
    std::string enc;
    enc.reserve(len * 2);
    for (unsigned i = 0; i < len; i++) {
        enc += hex[md[i] >> 4];
        enc += hex[md[i] & 15];
    }
    return Digest::parse(algorithm_ + ":" + enc);
}

void verify_digest(std::string_view what, const Digest& expected, const Digest& actual) {
    if (expected != actual)
        throw_invalid(std::string(what) + ": digest mismatch: expected " + expected.str() +
                      ", got " + actual.str());
}

void verify_size(std::string_view what, int64_t expected, uint64_t actual) {
    if (expected < 0 || static_cast<uint64_t>(expected) != actual)
        throw_invalid(std::string(what) + ": size mismatch: expected " + std::to_string(expected) +
                      " bytes, got " + std::to_string(actual));
}

} // namespace ctk
