#include "registry/settings.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace ctk;
using namespace ctk::registry;

TEST(Settings, LoopbackHosts) {
    EXPECT_TRUE(is_loopback_host("127.0.0.1:5000"));
    EXPECT_TRUE(is_loopback_host("127.1.2.3"));
    EXPECT_TRUE(is_loopback_host("localhost:5000"));
    EXPECT_TRUE(is_loopback_host("[::1]:5000"));
    EXPECT_FALSE(is_loopback_host("128.0.0.1:5000"));
    EXPECT_FALSE(is_loopback_host("registry-1.docker.io"));
    EXPECT_FALSE(is_loopback_host("localhost.example.com"));
}

TEST(Settings, DockerHubAndLoopbackDefaults) {
    Settings s;
    Endpoint hub = s.endpoint("docker.io");
    EXPECT_EQ(hub.base_url, "https://registry-1.docker.io");
    EXPECT_FALSE(hub.loopback);
    EXPECT_EQ(s.endpoint("127.0.0.1:5000").base_url, "http://127.0.0.1:5000");
    EXPECT_EQ(s.endpoint("registry.example:443").base_url, "https://registry.example:443");
    // Docker's normalisation: library/ and docker.io, no network involved.
    EXPECT_EQ(s.normalize("busybox").with_default_tag().str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(s.normalize("127.0.0.1:5000/tiny").str(), "127.0.0.1:5000/tiny");
}

TEST(Settings, ConfigSectionPerHost) {
    Settings s = Settings::from_json(Json::parse(R"({
        "default_registry": "127.0.0.1:5000",
        "max_concurrent_downloads": 5,
        "retries": 2,
        "registries": {
            "127.0.0.1:5443": {"plain_http": false, "ca": "/etc/ca.pem"},
            "registry.example": {"plain_http": true, "insecure": true},
            "docker.io": {"mirrors": ["127.0.0.1:5000/hub", "https://mirror.example"]}
        }})"));
    EXPECT_EQ(s.max_concurrent_downloads, 5u);
    EXPECT_EQ(s.retries, 2u);
    Endpoint tls = s.endpoint("127.0.0.1:5443");
    EXPECT_EQ(tls.base_url, "https://127.0.0.1:5443");
    EXPECT_EQ(tls.ca_file, "/etc/ca.pem");
    EXPECT_EQ(s.endpoint("registry.example").base_url, "http://registry.example");
    EXPECT_TRUE(s.endpoint("registry.example").insecure);

    auto eps = s.pull_endpoints("docker.io");
    ASSERT_EQ(eps.size(), 3u);
    EXPECT_EQ(eps[0].base_url, "http://127.0.0.1:5000");
    EXPECT_EQ(eps[0].repository("library/busybox"), "hub/library/busybox");
    EXPECT_TRUE(eps[0].mirror);
    EXPECT_EQ(eps[1].base_url, "https://mirror.example");
    EXPECT_EQ(eps[2].base_url, "https://registry-1.docker.io");
    EXPECT_FALSE(eps[2].mirror);

    // A short name goes to the default registry, without library/.
    EXPECT_EQ(s.normalize("tiny").with_default_tag().str(), "127.0.0.1:5000/tiny:latest");
    EXPECT_EQ(s.normalize("a/b:1").str(), "127.0.0.1:5000/a/b:1");
    EXPECT_EQ(s.normalize("docker.io/busybox").str(), "docker.io/library/busybox");
    EXPECT_EQ(s.normalize("127.0.0.2:5001/x").str(), "127.0.0.2:5001/x");
}

TEST(Settings, BadConfigIsRefusedWithTheKey) {
    auto refused = [](const char* text, const char* mention) {
        try {
            Settings::from_json(Json::parse(text));
            ADD_FAILURE() << "accepted " << text;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
        }
    };
    refused(R"({"max_concurrent_downloads": 0})", "max_concurrent_downloads");
    refused(R"({"registries": {"h": {"plain_http": "yes"}}})", "plain_http");
    refused(R"({"registries": {"h": {"mirror": []}}})", "mirror");
    refused(R"({"bogus": 1})", "bogus");
}
