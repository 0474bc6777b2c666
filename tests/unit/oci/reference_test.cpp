// Cases transcribed from Docker's reference parser tests
// (github.com/distribution/reference reference_test.go and normalize_test.go).
#include "oci/reference.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace ctk;
using namespace ctk::oci;

namespace {
const std::string ff64(64, 'f');
const std::string ff128(128, 'f');

struct ParseCase {
    std::string input;
    bool ok;
    std::string name; // domain/path as reference.Name()
    std::string domain;
    std::string tag;
    std::string digest;
};
} // namespace

TEST(Reference, StrictParseTable) {
    std::string long_ok;
    for (int i = 0; i < 127; i++) long_ok += "a/";
    long_ok += "a";
    std::string long_bad;
    for (int i = 0; i < 128; i++) long_bad += "a/";
    long_bad += "a";
    const std::vector<ParseCase> cases = {
        {"test_com", true, "test_com", "", "", ""},
        {"test.com:tag", true, "test.com", "", "tag", ""},
        {"test.com:5000", true, "test.com", "", "5000", ""},
        {"test.com/repo:tag", true, "test.com/repo", "test.com", "tag", ""},
        {"test:5000/repo", true, "test:5000/repo", "test:5000", "", ""},
        {"test:5000/repo:tag", true, "test:5000/repo", "test:5000", "tag", ""},
        {"test:5000/repo@sha256:" + ff64, true, "test:5000/repo", "test:5000", "", "sha256:" + ff64},
        {"test:5000/repo:tag@sha256:" + ff64, true, "test:5000/repo", "test:5000", "tag", "sha256:" + ff64},
        {"", false, "", "", "", ""},
        {":justtag", false, "", "", "", ""},
        {"@sha256:" + ff64, false, "", "", "", ""},
        {"repo@sha256:ffffffffffffffffffffffffffffffffff", false, "", "", "", ""},
        {"validname@invaliddigest:" + ff64, false, "", "", "", ""},
        {"Uppercase:tag", false, "", "", "", ""},
        {"test:5000/Uppercase/lowercase:tag", false, "", "", "", ""},
        {"lowercase:Uppercase", true, "lowercase", "", "Uppercase", ""},
        {long_bad + ":tag", false, "", "", "", ""},
        {long_ok + ":tag-puts-this-over-max", true, long_ok, "a", "tag-puts-this-over-max", ""},
        {"aa/asdf$$^/aa", false, "", "", "", ""},
        {"sub-dom1.foo.com/bar/baz/quux", true, "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "", ""},
        {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", true, "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "some-long-tag", ""},
        {"b.gcr.io/test.example.com/my-app:test.example.com", true, "b.gcr.io/test.example.com/my-app", "b.gcr.io", "test.example.com", ""},
        {"xn--n3h.com/myimage:xn--n3h.com", true, "xn--n3h.com/myimage", "xn--n3h.com", "xn--n3h.com", ""},
        {"xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + ff128, true, "xn--7o8h.com/myimage", "xn--7o8h.com", "xn--7o8h.com", "sha512:" + ff128},
        {"foo_bar.com:8080", true, "foo_bar.com", "", "8080", ""},
        {"foo/foo_bar.com:8080", true, "foo/foo_bar.com", "foo", "8080", ""},
        {"192.168.1.1", true, "192.168.1.1", "", "", ""},
        {"192.168.1.1:tag", true, "192.168.1.1", "", "tag", ""},
        {"192.168.1.1:5000", true, "192.168.1.1", "", "5000", ""},
        {"192.168.1.1/repo", true, "192.168.1.1/repo", "192.168.1.1", "", ""},
        {"192.168.1.1:5000/repo", true, "192.168.1.1:5000/repo", "192.168.1.1:5000", "", ""},
        {"192.168.1.1:5000/repo:5050", true, "192.168.1.1:5000/repo", "192.168.1.1:5000", "5050", ""},
        {"[2001:db8::1]", false, "", "", "", ""},
        {"[2001:db8::1]:5000", false, "", "", "", ""},
        {"[2001:db8::1]:tag", false, "", "", "", ""},
        {"[2001:db8::1]/repo", true, "[2001:db8::1]/repo", "[2001:db8::1]", "", ""},
        {"[2001:db8:1:2:3:4:5:6]/repo:tag", true, "[2001:db8:1:2:3:4:5:6]/repo", "[2001:db8:1:2:3:4:5:6]", "tag", ""},
        {"[2001:db8::1]:5000/repo", true, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", ""},
        {"[2001:db8::1]:5000/repo:tag", true, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", ""},
        {"[2001:db8::1]:5000/repo@sha256:" + ff64, true, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", "sha256:" + ff64},
        {"[2001:db8::1]:5000/repo:tag@sha256:" + ff64, true, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", "sha256:" + ff64},
        {"[2001:db8::]:5000/repo", true, "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "", ""},
        {"[::1]:5000/repo", true, "[::1]:5000/repo", "[::1]:5000", "", ""},
        {"[fe80::1%eth0]:5000/repo", false, "", "", "", ""},
        {"[fe80::1%@invalidzone]:5000/repo", false, "", "", "", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.input);
        if (!c.ok) {
            EXPECT_THROW(Reference::parse(c.input), Error);
            continue;
        }
        Reference r = Reference::parse(c.input);
        EXPECT_EQ(r.str(), c.input);
        EXPECT_EQ(r.name(), c.name);
        EXPECT_EQ(r.domain, c.domain);
        EXPECT_EQ(r.tag, c.tag);
        EXPECT_EQ(r.digest, c.digest);
    }
}

TEST(Reference, NormalizedValidAndInvalidNames) {
    for (const char* name :
         {"docker/docker", "library/debian", "debian", "docker.io/docker/docker",
          "docker.io/library/debian", "docker.io/debian", "index.docker.io/docker/docker",
          "index.docker.io/library/debian", "index.docker.io/debian", "127.0.0.1:5000/docker/docker",
          "127.0.0.1:5000/library/debian", "127.0.0.1:5000/debian", "192.168.0.1", "192.168.0.1:80",
          "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
          "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "[fc00::1]:5000/docker",
          "[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
          "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
          "Docker/docker", "DOCKER/docker", "docker-rules/docker", "docker---rules/docker",
          "doc/docker", "d/docker", "jess/t", "dock__er/docker"}) {
        SCOPED_TRACE(name);
        EXPECT_NO_THROW(Reference::parse_normalized(name));
    }
    for (const char* name :
         {"https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker",
          "-docker.io/docker/docker", "docker///docker", "docker.io/docker/Docker",
          "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian",
          "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
          "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker-/docker",
          "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker", "dock_.er/docker",
          "dock-.er/docker", "docker/",
          "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker"}) {
        SCOPED_TRACE(name);
        EXPECT_THROW(Reference::parse_normalized(name), Error);
    }
}

TEST(Reference, RepositoryInfoTable) {
    struct Case {
        std::string remote, familiar, full, ambiguous, domain;
    };
    const std::vector<Case> cases = {
        {"fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"},
        {"library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"},
        {"nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io"},
        {"other/library", "other/library", "docker.io/other/library", "", "docker.io"},
        {"private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", "", "127.0.0.1:8000"},
        {"privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "", "127.0.0.1:8000"},
        {"private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", "", "example.com"},
        {"privatebase", "example.com/privatebase", "example.com/privatebase", "", "example.com"},
        {"private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase", "", "example.com:8000"},
        {"privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", "", "example.com:8000"},
        {"library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "index.docker.io/library/ubuntu-12.04-base", "docker.io"},
        {"library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"},
        {"library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "", "docker.io"},
        {"store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", "", "docker.io"},
        {"bar", "Foo/bar", "Foo/bar", "", "Foo"},
        {"bar", "FOO/bar", "FOO/bar", "", "FOO"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> inputs = {c.familiar, c.full};
        if (!c.ambiguous.empty()) inputs.push_back(c.ambiguous);
        for (const auto& in : inputs) {
            SCOPED_TRACE(in);
            Reference r = Reference::parse_normalized(in);
            EXPECT_EQ(r.familiar_name(), c.familiar);
            EXPECT_EQ(r.str(), c.full);
            EXPECT_EQ(r.domain, c.domain);
            EXPECT_EQ(r.path, c.remote);
        }
    }
}

TEST(Reference, NormalizedSplitHostname) {
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {"test.com/foo", "test.com", "foo"},
        {"test_com/foo", "docker.io", "test_com/foo"},
        {"docker/migrator", "docker.io", "docker/migrator"},
        {"test.com:8080/foo", "test.com:8080", "foo"},
        {"test-com:8080/foo", "test-com:8080", "foo"},
        {"foo", "docker.io", "library/foo"},
        {"xn--n3h.com/foo", "xn--n3h.com", "foo"},
        {"xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"},
        {"docker.io/foo", "docker.io", "library/foo"},
        {"docker.io/library/foo", "docker.io", "library/foo"},
        {"docker.io/library/foo/bar", "docker.io", "library/foo/bar"},
    };
    for (const auto& [in, domain, path] : cases) {
        SCOPED_TRACE(in);
        Reference r = Reference::parse_normalized(in);
        EXPECT_EQ(r.domain, domain);
        EXPECT_EQ(r.path, path);
    }
}

TEST(Reference, TagAndDigestTogether) {
    std::string short_ref =
        "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
    Reference r = Reference::parse_normalized(short_ref);
    EXPECT_EQ(r.str(), "docker.io/library/" + short_ref);
    EXPECT_EQ(r.familiar(), short_ref);
    EXPECT_EQ(r.manifest_ref(), r.digest);
}

TEST(Reference, DefaultsForPull) {
    Reference r = Reference::parse_normalized("busybox").with_default_tag();
    EXPECT_EQ(r.str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(r.registry_host(), "registry-1.docker.io");
    EXPECT_EQ(r.familiar(), "busybox:latest");
    Reference local = Reference::parse_normalized("127.0.0.1:5000/tiny").with_default_tag();
    EXPECT_EQ(local.str(), "127.0.0.1:5000/tiny:latest");
    EXPECT_EQ(local.registry_host(), "127.0.0.1:5000");
    EXPECT_EQ(local.familiar(), "127.0.0.1:5000/tiny:latest");
    Reference lh = Reference::parse_normalized("localhost/x");
    EXPECT_EQ(lh.domain, "localhost");
}

TEST(Reference, ErrorsAreClear) {
    try {
        Reference::parse_normalized("Busybox");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "invalid reference format: repository name (library/Busybox) must be lowercase");
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    try {
        Reference::parse_normalized("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot specify 64-byte hexadecimal strings"), std::string::npos);
    }
}
