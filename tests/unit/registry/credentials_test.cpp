#include "registry/credentials.hpp"

#include <sys/stat.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "core/fs.hpp"

using namespace ctk;
using namespace ctk::registry;

namespace {
// Points DOCKER_CONFIG (and PATH, for helpers) at a temporary directory.
class CredentialsTest : public ::testing::Test {
protected:
    void SetUp() override {
        old_config_ = std::getenv("DOCKER_CONFIG") ? std::getenv("DOCKER_CONFIG") : "";
        old_path_ = std::getenv("PATH") ? std::getenv("PATH") : "";
        ::setenv("DOCKER_CONFIG", (dir_.path() + "/docker").c_str(), 1);
        ::setenv("PATH", (dir_.path() + ":" + old_path_).c_str(), 1);
    }
    void TearDown() override {
        if (old_config_.empty()) ::unsetenv("DOCKER_CONFIG");
        else ::setenv("DOCKER_CONFIG", old_config_.c_str(), 1);
        ::setenv("PATH", old_path_.c_str(), 1);
    }
    void write_config(const std::string& text) {
        make_dirs(dir_.path() + "/docker");
        write_file_atomic(dir_.path() + "/docker/config.json", text);
    }
    // A docker-credential-NAME script that logs its verb and stdin and answers `get`.
    void write_helper(const std::string& name) {
        std::string script = "#!/bin/sh\n"
                             "log=" + dir_.path() + "/helper.log\n"
                             "input=$(cat)\n"
                             "echo \"$1 $input\" >>\"$log\"\n"
                             "case \"$1\" in\n"
                             "get) if [ \"$input\" = 127.0.0.1:5101 ]; then\n"
                             "       echo '{\"ServerURL\":\"127.0.0.1:5101\",\"Username\":\"hal\",\"Secret\":\"pw\"}'\n"
                             "     else echo 'credentials not found in native keychain'; exit 1; fi ;;\n"
                             "esac\n";
        std::string path = dir_.path() + "/docker-credential-" + name;
        write_file_atomic(path, script, 0755);
    }
    std::string helper_log() { return read_file_if_exists(dir_.path() + "/helper.log").value_or(""); }

    TempDir dir_{"ctk-creds"};
    std::string old_config_, old_path_;
};
} // namespace

TEST(Base64, RoundTrip) {
    for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "user:p@ss:word", std::string("\0\xff", 2)})
        EXPECT_EQ(base64_decode(base64_encode(s)), s);
    EXPECT_EQ(base64_encode("alice:secret"), "YWxpY2U6c2VjcmV0");
    EXPECT_THROW(base64_decode("not base64!"), Error);
}

TEST(CredentialKey, DockerHubUsesTheLegacyIndexUrl) {
    EXPECT_EQ(credential_key("docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(credential_key("127.0.0.1:5000"), "127.0.0.1:5000");
}

TEST_F(CredentialsTest, ReadsAuthsAsDockerWritesThem) {
    write_config(R"({"auths": {
        "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"},
        "http://127.0.0.1:5100": {"auth": "YWxpY2U6c2VjcmV0"},
        "127.0.0.1:5102": {"username": "u", "password": "p"},
        "127.0.0.1:5103": {"identitytoken": "refresh"}}})");
    CredentialStore s = CredentialStore::load();
    auto hub = s.get("docker.io");
    ASSERT_TRUE(hub);
    EXPECT_EQ(hub->username, "hub");
    EXPECT_EQ(hub->password, "hubpw");
    auto c = s.get("127.0.0.1:5100");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->username, "alice");
    EXPECT_EQ(c->password, "secret");
    EXPECT_EQ(s.get("127.0.0.1:5102")->password, "p");
    EXPECT_EQ(s.get("127.0.0.1:5103")->identity_token, "refresh");
    EXPECT_FALSE(s.get("127.0.0.1:5000"));
}

TEST_F(CredentialsTest, StoreAndEraseKeepOtherFields) {
    write_config(R"({"auths": {"other:1": {"auth": "eDp5"}}, "psFormat": "table"})");
    CredentialStore s = CredentialStore::load();
    s.store("127.0.0.1:5100", Credentials{"alice", "secret", ""});
    Json j = read_json_file(dir_.path() + "/docker/config.json");
    EXPECT_EQ(j["auths"]["127.0.0.1:5100"]["auth"], "YWxpY2U6c2VjcmV0");
    EXPECT_EQ(j["auths"]["other:1"]["auth"], "eDp5");
    EXPECT_EQ(j["psFormat"], "table");
    struct stat st;
    ASSERT_EQ(::stat((dir_.path() + "/docker/config.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(CredentialStore::load().get("127.0.0.1:5100")->username, "alice");

    CredentialStore again = CredentialStore::load();
    EXPECT_TRUE(again.erase("127.0.0.1:5100"));
    EXPECT_FALSE(CredentialStore::load().get("127.0.0.1:5100"));
    EXPECT_FALSE(CredentialStore::load().erase("127.0.0.1:5100"));
    EXPECT_TRUE(CredentialStore::load().get("other:1"));
}

TEST_F(CredentialsTest, HelpersFromCredsStoreAndCredHelpers) {
    write_helper("ctkunit");
    write_config(R"({"credsStore": "ctkunit", "credHelpers": {"127.0.0.1:5199": "missing-helper"}})");
    CredentialStore s = CredentialStore::load();
    EXPECT_EQ(s.helper_for("127.0.0.1:5101"), "ctkunit");
    EXPECT_EQ(s.helper_for("127.0.0.1:5199"), "missing-helper");
    auto c = s.get("127.0.0.1:5101");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->username, "hal");
    EXPECT_EQ(c->password, "pw");
    EXPECT_FALSE(s.get("127.0.0.1:5000")); // "credentials not found": none, not an error
    try {
        s.get("127.0.0.1:5199");
        FAIL() << "a missing helper was not reported";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("docker-credential-missing-helper"), std::string::npos) << e.what();
    }
    s.store("127.0.0.1:5101", Credentials{"hal", "new", ""});
    EXPECT_NE(helper_log().find(R"(store {"Secret":"new","ServerURL":"127.0.0.1:5101","Username":"hal"})"),
              std::string::npos)
        << helper_log();
    // The password is not in the file when a helper keeps it.
    EXPECT_EQ(read_file(dir_.path() + "/docker/config.json").find("new"), std::string::npos);
}
