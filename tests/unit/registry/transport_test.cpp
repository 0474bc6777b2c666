#include "registry/transport.hpp"

#include <gtest/gtest.h>

using namespace ctk::registry;

TEST(Url, OriginComparesSchemeHostAndPort) {
    EXPECT_EQ(url_origin("http://127.0.0.1:5000/v2/x"), "http://127.0.0.1:5000");
    EXPECT_EQ(url_origin("https://Registry.Example/v2/"), "https://registry.example:443");
    EXPECT_EQ(url_origin("https://registry.example:443/a"), url_origin("https://registry.example/b"));
    EXPECT_NE(url_origin("http://registry.example/a"), url_origin("https://registry.example/a"));
    EXPECT_NE(url_origin("http://a.example/"), url_origin("http://a.example:8080/"));
    // Userinfo does not make another host look like ours.
    EXPECT_EQ(url_origin("http://user@evil.example/x"), "http://evil.example:80");
}

TEST(Url, ResolveLocation) {
    std::string base = "http://127.0.0.1:5000/v2/tiny/blobs/uploads/";
    EXPECT_EQ(resolve_url(base, "/v2/tiny/blobs/uploads/abc?_state=x"),
              "http://127.0.0.1:5000/v2/tiny/blobs/uploads/abc?_state=x");
    EXPECT_EQ(resolve_url(base, "https://cdn.example/blob"), "https://cdn.example/blob");
    EXPECT_EQ(resolve_url(base, "//cdn.example/blob"), "http://cdn.example/blob");
    EXPECT_EQ(resolve_url(base, "abc"), "http://127.0.0.1:5000/v2/tiny/blobs/uploads/abc");
}

TEST(Url, QueryAndEncoding) {
    EXPECT_EQ(url_encode("sha256:ab/c d"), "sha256%3Aab%2Fc%20d");
    EXPECT_EQ(add_query("http://h/p", "digest", "sha256:1"), "http://h/p?digest=sha256%3A1");
    EXPECT_EQ(add_query("http://h/p?_state=x", "digest", "d"), "http://h/p?_state=x&digest=d");
}

TEST(Request, HeadersAreCaseInsensitive) {
    Request r;
    r.set_header("Authorization", "Bearer a");
    r.set_header("authorization", "Bearer b");
    EXPECT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.header("AUTHORIZATION"), "Bearer b");
    r.remove_header("Authorization");
    EXPECT_TRUE(r.header("authorization").empty());
}
