#include "registry/auth.hpp"

#include <gtest/gtest.h>

#include "fake_registry.hpp"

using namespace ctk;
using namespace ctk::registry;
using namespace std::chrono_literals;

TEST(Challenge, ParsesBearerAndBasic) {
    auto c = parse_challenges(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "bearer");
    EXPECT_EQ(c[0].params["realm"], "https://auth.docker.io/token");
    EXPECT_EQ(c[0].params["service"], "registry.docker.io");
    EXPECT_EQ(c[0].params["scope"], "repository:library/busybox:pull");

    c = parse_challenges(R"(Basic realm="Registry Realm", Bearer realm=x, error="invalid_token")");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].scheme, "basic");
    EXPECT_EQ(c[0].params["realm"], "Registry Realm");
    EXPECT_EQ(c[1].scheme, "bearer");
    EXPECT_EQ(c[1].params["realm"], "x");
    EXPECT_EQ(c[1].params["error"], "invalid_token");

    c = parse_challenges(R"(Bearer realm="a\"b")");
    EXPECT_EQ(c.at(0).params["realm"], "a\"b");
}

namespace {
Response challenge(const std::string& value) {
    Response r;
    r.status = 401;
    r.headers.emplace_back("www-authenticate", value);
    return r;
}
} // namespace

TEST(Authenticator, BearerTokenIsFetchedOnceAndReused) {
    test::FakeRegistry reg;
    auto transport = reg.factory()();
    Authenticator auth("registry.test:5000", Credentials{"alice", "secret", ""},
                       {"repository:tiny:pull"});
    Request like;
    like.url = reg.origin + "/v2/tiny/manifests/latest";
    unsigned gen = 0;
    EXPECT_EQ(auth.authorization(*transport, like, gen), "");
    ASSERT_TRUE(auth.on_unauthorized(*transport, like,
                                     challenge("Bearer realm=\"" + reg.token_realm + "\",service=\"s\""), gen));
    unsigned gen2 = 0;
    EXPECT_EQ(auth.authorization(*transport, like, gen2), "Bearer tok-1");
    EXPECT_EQ(auth.authorization(*transport, like, gen2), "Bearer tok-1");
    EXPECT_EQ(auth.token_requests(), 1u);
    // The token request carried service and scope, and the basic credentials.
    const Request& t = reg.requests.back();
    EXPECT_NE(t.url.find("service=s"), std::string::npos) << t.url;
    EXPECT_NE(t.url.find("scope=repository%3Atiny%3Apull"), std::string::npos) << t.url;
    EXPECT_EQ(t.header("Authorization"), "Basic " + base64_encode("alice:secret"));
    // A stale 401 (from before the token) does not fetch another one.
    EXPECT_TRUE(auth.on_unauthorized(*transport, like, challenge("Bearer realm=\"" + reg.token_realm + "\""), gen));
    EXPECT_EQ(auth.token_requests(), 1u);
}

TEST(Authenticator, ExpiredTokenIsRefreshed) {
    test::FakeRegistry reg;
    reg.token_lifetime = 60;
    auto transport = reg.factory()();
    auto now = std::chrono::steady_clock::now();
    Authenticator auth("r", Credentials{"alice", "secret", ""}, {"repository:tiny:pull"});
    auth.set_clock([&] { return now; });
    Request like;
    like.url = reg.origin + "/v2/";
    unsigned gen = 0;
    auth.authorization(*transport, like, gen);
    ASSERT_TRUE(auth.on_unauthorized(*transport, like, challenge("Bearer realm=\"" + reg.token_realm + "\""), gen));
    EXPECT_EQ(auth.authorization(*transport, like, gen), "Bearer tok-1");
    now += 30s;
    EXPECT_EQ(auth.authorization(*transport, like, gen), "Bearer tok-1");
    now += 30s; // past expiry (less the safety margin)
    EXPECT_EQ(auth.authorization(*transport, like, gen), "Bearer tok-2");
    EXPECT_EQ(auth.token_requests(), 2u);
}

TEST(Authenticator, BasicNeedsCredentialsAndGivesUpWhenRefused) {
    test::FakeRegistry reg;
    auto transport = reg.factory()();
    Request like;
    like.url = reg.origin + "/v2/";
    unsigned gen = 0;
    Authenticator anonymous("r", std::nullopt, {});
    EXPECT_FALSE(anonymous.on_unauthorized(*transport, like, challenge("Basic realm=x"), gen));

    Authenticator auth("r", Credentials{"alice", "wrong", ""}, {});
    ASSERT_TRUE(auth.on_unauthorized(*transport, like, challenge("Basic realm=x"), gen));
    EXPECT_EQ(auth.authorization(*transport, like, gen), "Basic " + base64_encode("alice:wrong"));
    EXPECT_FALSE(auth.on_unauthorized(*transport, like, challenge("Basic realm=x"), gen));
}

TEST(Authenticator, RefusedTokenRequestNamesTheRegistry) {
    test::FakeRegistry reg;
    auto transport = reg.factory()();
    Authenticator auth("registry.test:5000", Credentials{"alice", "bad", ""}, {"repository:tiny:pull"});
    Request like;
    like.url = reg.origin + "/v2/";
    try {
        auth.on_unauthorized(*transport, like, challenge("Bearer realm=\"" + reg.token_realm + "\""), 0);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::remote);
        std::string m = e.what();
        EXPECT_NE(m.find("registry.test:5000"), std::string::npos) << m;
        EXPECT_NE(m.find("HTTP 401"), std::string::npos) << m;
        EXPECT_NE(m.find("credentials refused"), std::string::npos) << m;
    }
}

TEST(Authenticator, IdentityTokenUsesTheOAuth2RefreshGrant) {
    test::FakeRegistry reg;
    std::vector<Request> seen;
    class Recorder final : public Transport {
    public:
        explicit Recorder(std::vector<Request>& s) : s_(s) {}
        Response perform(const Request& req, const BodySink*, size_t) override {
            s_.push_back(req);
            Response r;
            r.status = 200;
            r.body = R"({"access_token":"oauth-tok","expires_in":300})";
            return r;
        }
        std::vector<Request>& s_;
    } transport(seen);
    Authenticator auth("r", Credentials{"", "", "refresh-me"}, {"repository:a:pull"});
    Request like;
    like.url = "https://r.example/v2/";
    ASSERT_TRUE(auth.on_unauthorized(transport, like,
                                     challenge("Bearer realm=\"https://auth.example/token\",service=\"svc\""), 0));
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_NE(seen[0].body.find("grant_type=refresh_token"), std::string::npos);
    EXPECT_NE(seen[0].body.find("refresh_token=refresh-me"), std::string::npos);
    EXPECT_NE(seen[0].body.find("service=svc"), std::string::npos);
    EXPECT_TRUE(seen[0].header("Authorization").empty());
    unsigned gen = 0;
    EXPECT_EQ(auth.authorization(transport, like, gen), "Bearer oauth-tok");
}

TEST(Scopes, MergeJoinsActionsOfOneResource) {
    std::vector<std::string> s = {"repository:copy:pull,push", "repository:tiny:pull"};
    merge_scope(s, "repository:copy:pull");
    merge_scope(s, "repository:tiny:push");
    merge_scope(s, "repository:127.0.0.1:5000/x:pull");
    merge_scope(s, "registry:catalog:*");
    EXPECT_EQ(s, (std::vector<std::string>{"repository:copy:pull,push", "repository:tiny:pull,push",
                                           "repository:127.0.0.1:5000/x:pull", "registry:catalog:*"}));
}
