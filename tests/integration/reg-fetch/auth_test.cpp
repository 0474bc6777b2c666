// Registries that want credentials (real docker-registry instances with
// htpasswd and with token auth), login/logout and the Docker config file,
// credential helpers, redirects, TLS, mirrors and the default registry.
#include <filesystem>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "registry/credentials.hpp"
#include "reg_fetch_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

class AuthTest : public RegFetchTest {
protected:
    // Copies the fixture's tiny image into `reg` with skopeo (the independent oracle).
    void seed(const RegistryInstance& reg, const std::string& creds = "alice:secret",
              const std::string& name = "tiny:latest") {
        ToolResult r = command({"skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                                "--dest-creds", creds, "docker://" + image("tiny:latest"),
                                "docker://" + reg.address() + "/" + name});
        ASSERT_EQ(r.status, 0) << r;
    }
    std::unique_ptr<RegistryInstance> basic_registry() {
        ToolResult h = command({"htpasswd", "-Bbn", "alice", "secret"});
        EXPECT_EQ(h.status, 0) << h;
        make_dirs(tmp() + "/basic");
        write_file_atomic(tmp() + "/basic/htpasswd", h.out);
        return start_registry(tmp() + "/basic",
                              "  htpasswd:\n    realm: ctk-basic\n    path: " + tmp() + "/basic/htpasswd\n");
    }
};

} // namespace

TEST_F(AuthTest, BasicAuthLoginPullPushLogout) {
    auto reg = basic_registry();
    seed(*reg);
    std::string ref = reg->address() + "/tiny:latest";

    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", layout("l"), ref});
    EXPECT_EQ(r.status, 6) << r;
    EXPECT_EQ(error_line(r), "reg-fetch: registry " + reg->address() +
                                 ": repository tiny: manifest \"latest\": HTTP 401 Unauthorized "
                                 "(UNAUTHORIZED: authentication required): credentials needed (reg-fetch login " +
                                 reg->address() + ")");

    r = reg_fetch({"login", reg->address(), "-u", "alice", "--password-stdin"}, "wrong\n");
    EXPECT_EQ(r.status, 6) << r;
    EXPECT_NE(error_line(r).find("credentials refused"), std::string::npos) << r;
    EXPECT_FALSE(docker_config().contains("auths"));
    // --no-store (ctld's POST /auth): the same check, nothing written
    r = reg_fetch({"login", "--no-store", reg->address(), "-u", "alice", "--password-stdin"}, "wrong\n");
    EXPECT_EQ(r.status, 6) << r;
    EXPECT_NE(error_line(r).find("credentials refused"), std::string::npos) << r;
    r = reg_fetch({"login", "--no-store", reg->address(), "-u", "alice", "--password-stdin"}, "secret\n");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json(), Json({{"registry", reg->address()}, {"status", "Login Succeeded"}}));
    EXPECT_FALSE(docker_config().contains("auths"));

    r = reg_fetch({"login", reg->address(), "-u", "alice", "--password-stdin"}, "secret\n");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json()["registry"], reg->address());
    // As docker login writes it: base64("user:password") under the host.
    EXPECT_EQ(docker_config()["auths"][reg->address()]["auth"], registry::base64_encode("alice:secret"));

    Json j = pull(ref, {"--layout", layout("l")});
    EXPECT_EQ(j["digest"], tagged_digest(fixture_layout("tiny"), "latest"));

    // Push into the same registry; skopeo reads it back with the same digest.
    r = reg_fetch({"push", "--quiet", layout("l") + ":" + ref, reg->address() + "/copy:v1"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json()["digest"], j["digest"]);
    ToolResult s = command({"skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", "alice:secret",
                            "docker://" + reg->address() + "/copy:v1"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ("sha256:" + Digest::sha256_of(s.out).encoded(), j["digest"]);

    r = reg_fetch({"logout", reg->address()});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_FALSE(docker_config()["auths"].contains(reg->address()));
    r = reg_fetch({"logout", reg->address()});
    EXPECT_EQ(r.status, 4) << r;
    r = reg_fetch({"pull", "--quiet", "--layout", layout("l2"), ref});
    EXPECT_EQ(r.status, 6) << r;
}

TEST_F(AuthTest, CredentialHelpersServeCredentials) {
    auto reg = basic_registry();
    seed(*reg);
    std::string ref = reg->address() + "/tiny:latest";
    install_credential_helper("ctktest", reg->address(), "alice", "secret");

    write_docker_config({{"credsStore", "ctktest"}});
    pull(ref, {"--layout", layout("a")});
    EXPECT_NE(read_file(tmp() + "/helper.log").find("get " + reg->address()), std::string::npos);

    write_docker_config({{"credHelpers", {{reg->address(), "ctktest"}}}});
    pull(ref, {"--layout", layout("b")});

    // login through the helper: the password goes to the helper, not the file.
    write_docker_config({{"credsStore", "ctktest"}});
    ToolResult r = reg_fetch({"login", reg->address(), "-u", "alice", "-p", "secret"});
    ASSERT_EQ(r.status, 0) << r;
    std::string log = read_file(tmp() + "/helper.log");
    EXPECT_NE(log.find(R"(store {"Secret":"secret","ServerURL":")" + reg->address() + R"(","Username":"alice"})"),
              std::string::npos)
        << log;
    EXPECT_EQ(read_file(tmp() + "/home/.docker/config.json").find("secret"), std::string::npos);
    // As docker login does: an empty entry in the file names the host.
    EXPECT_EQ(docker_config()["auths"][reg->address()], Json::object());

    // logout asks the helper to erase them and drops the host from the file.
    r = reg_fetch({"logout", reg->address()});
    ASSERT_EQ(r.status, 0) << r;
    log = read_file(tmp() + "/helper.log");
    EXPECT_NE(log.find("erase " + reg->address()), std::string::npos) << log;
    EXPECT_FALSE(docker_config()["auths"].contains(reg->address()));
}

TEST_F(AuthTest, TokenAuthFetchesOneTokenAndReusesIt) {
    make_dirs(tmp() + "/token");
    make_certificate(tmp() + "/token/cert.pem", tmp() + "/token/key.pem");
    int token_port = pick_port();
    Daemon tokens = start_helper({"token", "--key", tmp() + "/token/key.pem", "--cert", tmp() + "/token/cert.pem"},
                                 token_port, "token.log");
    auto reg = start_registry(tmp() + "/token",
                              "  token:\n    realm: http://127.0.0.1:" + std::to_string(token_port) +
                                  "/token\n    service: ctk-test\n    issuer: ctk-test-issuer\n"
                                  "    rootcertbundle: " + tmp() + "/token/cert.pem\n");
    seed(*reg);
    seed(*reg, "alice:secret", "layered:latest");
    std::string ref = reg->address() + "/tiny:latest";

    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", layout("l"), ref});
    EXPECT_EQ(r.status, 6) << r;
    EXPECT_NE(error_line(r).find("registry " + reg->address() + ": token service http://127.0.0.1:" +
                                 std::to_string(token_port) + "/token: HTTP 401 (credentials needed"),
              std::string::npos)
        << r;

    write_docker_config({{"auths", {{reg->address(), {{"auth", registry::base64_encode("alice:secret")}}}}}});
    size_t before = read_log("token.log").size();
    Json j = pull(ref, {"--layout", layout("l")});
    EXPECT_EQ(j["digest"], tagged_digest(fixture_layout("tiny"), "latest"));
    auto log = read_log("token.log");
    // Manifest, config and layer: one token for all of them.
    ASSERT_EQ(log.size(), before + 1) << read_file(tmp() + "/token.log");
    EXPECT_EQ(log.back()["user"], "alice");
    EXPECT_EQ(log.back()["scopes"], Json::array({"repository:tiny:pull"}));

    // Push with pull,push scope; the layer is mounted from tiny (the layout says
    // it came from there), which needs pull on tiny in the same token.
    r = reg_fetch({"push", "--quiet", layout("l") + ":" + ref, reg->address() + "/copy:v1"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json()["blobs"]["mounted"], 2) << r;
    EXPECT_EQ(read_log("token.log").back()["scopes"],
              Json::array({"repository:copy:pull,push", "repository:tiny:pull"}));
    ToolResult s = command({"skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", "alice:secret",
                            "docker://" + reg->address() + "/copy:v1"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ("sha256:" + Digest::sha256_of(s.out).encoded(), j["digest"]);
}

TEST_F(AuthTest, CredentialsAreNotSentAlongARedirectToAnotherHost) {
    int port = pick_port();
    Daemon proxy = start_helper({"proxy", "--require-basic", "alice:secret", "--redirect-blobs", "127.0.0.2"}, port,
                                "proxy.log");
    if (!wait_for_port("127.0.0.2", port)) GTEST_SKIP() << "127.0.0.2 is not usable here";
    std::string host = "127.0.0.1:" + std::to_string(port);
    write_docker_config({{"auths", {{host, {{"auth", registry::base64_encode("alice:secret")}}}}}});
    Json j = pull(host + "/tiny:latest", {"--layout", layout("l")});
    EXPECT_EQ(j["digest"], tagged_digest(fixture_layout("tiny"), "latest"));
    int redirected = 0, authorised = 0;
    for (const auto& e : read_log("proxy.log")) {
        if (e["host"] == "127.0.0.2") {
            redirected++;
            EXPECT_TRUE(e["authorization"].is_null()) << e.dump();
        } else if (e["authorization"].is_string()) {
            authorised++;
        }
    }
    EXPECT_EQ(redirected, 2); // config and layer
    EXPECT_GE(authorised, 3);
    expect_blobs_intact(layout("l"));
}

TEST_F(AuthTest, TlsRegistryNeedsItsCaOrInsecure) {
    make_dirs(tmp() + "/tls");
    std::string cert = tmp() + "/tls/cert.pem", key = tmp() + "/tls/key.pem";
    make_certificate(cert, key);
    auto reg = start_registry(tmp() + "/tls", "", cert, key);
    ToolResult s = command({"skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-cert-dir", tmp() + "/none",
                            "--dest-tls-verify=false", "docker://" + image("tiny:latest"),
                            "docker://" + reg->address() + "/tiny:latest"});
    ASSERT_EQ(s.status, 0) << s;
    std::string ref = reg->address() + "/tiny:latest";

    set_registry_config({{"retries", 1}, {"registries", {{reg->address(), {{"plain_http", false}}}}}});
    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", layout("l"), ref});
    EXPECT_EQ(r.status, 6) << r;
    std::string e = error_line(r);
    EXPECT_TRUE(e.starts_with("reg-fetch: registry " + reg->address() + ": repository tiny: manifest \"latest\": "))
        << e;
    EXPECT_NE(e.find("(TLS; "), std::string::npos) << e;

    set_registry_config({{"registries", {{reg->address(), {{"plain_http", false}, {"ca", cert}}}}}});
    pull(ref, {"--layout", layout("l")});
    set_registry_config({{"registries", {{reg->address(), {{"plain_http", false}, {"insecure", true}}}}}});
    pull(ref, {"--layout", layout("l2")});
}

TEST_F(AuthTest, MirrorsAreTriedInOrderBeforeTheRegistry) {
    std::string dead = "127.0.0.1:" + std::to_string(pick_port());
    std::string origin = "127.0.0.2:" + std::to_string(pick_port()); // nothing listens there either
    set_registry_config({{"retries", 1}, {"registries", {{origin, {{"mirrors", {dead, registry()}}}}}}});
    ToolResult r = reg_fetch({"pull", "--layout", layout("l"), origin + "/tiny:latest"});
    ASSERT_EQ(r.status, 0) << r;
    Json j = r.json();
    EXPECT_EQ(j["reference"], origin + "/tiny:latest");
    EXPECT_EQ(j["ref_name"], origin + "/tiny:latest");
    EXPECT_EQ(j["digest"], tagged_digest(fixture_layout("tiny"), "latest"));
    EXPECT_NE(r.err.find("trying the next source"), std::string::npos) << r.err;
}

TEST_F(AuthTest, ShortNamesGoToTheConfiguredDefaultRegistry) {
    set_registry_config({{"default_registry", registry()}});
    Json j = pull("tiny", {"--layout", layout("l")});
    EXPECT_EQ(j["reference"], image("tiny:latest"));
    EXPECT_EQ(tagged_digest(layout("l"), image("tiny:latest")), j["digest"]);
}
