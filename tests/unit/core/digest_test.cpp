#include "core/digest.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace ctk;

TEST(Digest, KnownVectors) {
    EXPECT_EQ(Digest::sha256_of("").str(),
              "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Digest::sha256_of("abc").str(),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, StreamingEqualsOneShot) {
    std::string data(1 << 20, 'z');
    Hasher h;
    for (size_t i = 0; i < data.size(); i += 4097) h.update(std::string_view(data).substr(i, 4097));
    EXPECT_EQ(h.size(), data.size());
    EXPECT_EQ(h.digest(), Digest::sha256_of(data));
}

TEST(Digest, ParseValidates) {
    auto d = Digest::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(d.algorithm(), "sha256");
    EXPECT_EQ(d.short_id(), "e3b0c44298fc");
    EXPECT_THROW(Digest::parse("sha256:abc"), Error);
    EXPECT_THROW(Digest::parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"), Error);
    EXPECT_THROW(Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e"), Error);
    EXPECT_THROW(Digest::parse("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), Error);
    EXPECT_TRUE(Digest::valid("sha512:" + std::string(128, 'a')));
}

TEST(Digest, MismatchIsInvalidInput) {
    auto a = Digest::sha256_of("GOOD");
    auto b = Digest::sha256_of("EVIL");
    try {
        verify_digest("layer x", a, b);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("digest mismatch"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find(a.str()), std::string::npos);
    }
    EXPECT_NO_THROW(verify_digest("x", a, a));
    EXPECT_THROW(verify_size("x", 3, 4), Error);
    EXPECT_NO_THROW(verify_size("x", 4, 4));
}

TEST(Digest, Sha512AndSha384) {
    Hasher h("sha512");
    h.update("abc");
    EXPECT_EQ(h.digest().str(), "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                                "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    Hasher h384("sha384");
    h384.update("abc");
    EXPECT_EQ(h384.digest().str(), "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                                   "8086072ba1e7cc2358baeca134c825a7");
    EXPECT_THROW(Hasher("md5"), Error);
}
