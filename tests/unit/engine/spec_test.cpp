#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "engine/container_spec.hpp"

using namespace ctk;
using namespace ctk::engine;

TEST(Publish, DockerForms) {
    auto m = parse_publish("127.0.0.1:18080:80");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].host_ip, "127.0.0.1");
    EXPECT_EQ(m[0].host_port, "18080");
    EXPECT_EQ(m[0].container_port, "80");
    EXPECT_EQ(m[0].proto, "tcp");
    m = parse_publish("8080:80/udp");
    EXPECT_EQ(m[0].host_ip, "");
    EXPECT_EQ(m[0].proto, "udp");
    m = parse_publish("80");
    EXPECT_EQ(m[0].host_port, "");
    m = parse_publish("127.0.0.1::53/udp");
    EXPECT_EQ(m[0].host_port, "");
    EXPECT_EQ(m[0].host_ip, "127.0.0.1");
    m = parse_publish("8000-8002:80-82");
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[2].host_port, "8002");
    EXPECT_EQ(m[2].container_port, "82");
    for (const char* bad : {"a:b", "1:2:3:4", "0", "70000", "80/icmp", "8000-8001:80-83"})
        EXPECT_THROW(parse_publish(bad), Error) << bad;
}

TEST(EnvFile, Lines) {
    TempDir d("envfile");
    write_file_atomic(d.path() + "/e", "# comment\nA=1\n\n  B=two words\nCTK_TEST_FROM_ENV\nCTK_TEST_UNSET\n");
    ::setenv("CTK_TEST_FROM_ENV", "x", 1);
    ::unsetenv("CTK_TEST_UNSET");
    EXPECT_EQ(read_env_file(d.path() + "/e"), (std::vector<std::string>{"A=1", "B=two words", "CTK_TEST_FROM_ENV=x"}));
    write_file_atomic(d.path() + "/bad", "A B=1\n");
    EXPECT_THROW(read_env_file(d.path() + "/bad"), Error);
}

TEST(RunFlags, RequestLikeDockerCli) {
    RunFlags f;
    f.image = "tiny";
    f.command = {"sh", "-c", "echo hi"};
    f.name = "web";
    f.env = {"A=1", "A=2", "B=3"};
    f.publish = {"127.0.0.1:8080:80"};
    f.volumes = {"data:/data", "/anon", "/host:/h:ro"};
    f.tmpfs = {"/run:size=64m"};
    f.memory = "64m";
    f.cpus = "1.5";
    f.pids_limit = 100;
    f.cap_add = {"net_admin"};
    f.cap_drop = {"ALL"};
    f.read_only = true;
    f.init = true;
    f.rm = true;
    f.interactive = true;
    f.tty = true;
    f.networks = {"n1"};
    f.network_aliases = {"db"};
    f.security_opt = {"no-new-privileges"};
    CreateRequest r = request_from_flags(f);
    EXPECT_EQ(r.name, "web");
    EXPECT_EQ(r.config["Image"], "tiny");
    EXPECT_EQ(r.config["Cmd"], Json::array({"sh", "-c", "echo hi"}));
    EXPECT_EQ(r.config["Env"], Json::array({"A=2", "B=3"}));
    EXPECT_EQ(r.config["ExposedPorts"], (Json{{"80/tcp", Json::object()}}));
    EXPECT_EQ(r.config["Volumes"], (Json{{"/anon", Json::object()}}));
    EXPECT_TRUE(r.config["Tty"].get<bool>());
    EXPECT_TRUE(r.config["OpenStdin"].get<bool>());
    const Json& h = r.host_config;
    EXPECT_EQ(h["Binds"], Json::array({"data:/data", "/host:/h:ro"}));
    EXPECT_EQ(h["Tmpfs"]["/run"], "size=64m");
    EXPECT_EQ(h["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
    EXPECT_EQ(h["PortBindings"]["80/tcp"][0]["HostIp"], "127.0.0.1");
    EXPECT_EQ(h["Memory"], 64 * 1024 * 1024);
    EXPECT_EQ(h["NanoCpus"], 1500000000);
    EXPECT_EQ(h["PidsLimit"], 100);
    EXPECT_EQ(h["CapAdd"], Json::array({"CAP_NET_ADMIN"}));
    EXPECT_EQ(h["CapDrop"], Json::array({"ALL"}));
    EXPECT_TRUE(h["ReadonlyRootfs"].get<bool>());
    EXPECT_TRUE(h["Init"].get<bool>());
    EXPECT_TRUE(h["AutoRemove"].get<bool>());
    EXPECT_EQ(h["NetworkMode"], "n1");
    EXPECT_EQ(r.networking["EndpointsConfig"]["n1"]["Aliases"], Json::array({"db"}));
}

// Issue 16: hostile or mistyped flags are refused with Docker's words before anything runs.
TEST(RunFlags, RefusesWhatDockerRefuses) {
    auto error_of = [](auto mutate) -> std::string {
        RunFlags f;
        f.image = "tiny";
        mutate(f);
        try {
            request_from_flags(f);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
            return e.what();
        }
        return "accepted";
    };
    // a line injected into /etc/hosts
    EXPECT_EQ(error_of([](RunFlags& f) { f.add_hosts = {"a:1.2.3.4\n5.6.7.8 x"}; }),
              "invalid IP address in add-host: \"1.2.3.4\\x0a5.6.7.8 x\"");
    EXPECT_EQ(error_of([](RunFlags& f) { f.add_hosts = {"a b:1.2.3.4"}; }), "invalid host name in add-host: \"a b\"");
    EXPECT_EQ(error_of([](RunFlags& f) { f.add_hosts = {"a\nb:1.2.3.4"}; }),
              "invalid host name in add-host: \"a\\x0ab\"");
    EXPECT_EQ(error_of([](RunFlags& f) { f.add_hosts = {"nocolon"}; }), "bad format for add-host: \"nocolon\"");
    EXPECT_EQ(error_of([](RunFlags& f) { f.add_hosts = {"a:999.1.1.1"}; }), "invalid IP address in add-host: \"999.1.1.1\"");
    EXPECT_EQ(error_of([](RunFlags& f) { f.add_hosts = {"a:1.2.3.4", "v6:::1", "b:[fe80::1]"}; }), "accepted");
    EXPECT_EQ(error_of([](RunFlags& f) { f.env = {"=x"}; }), "invalid environment variable: =x");
    EXPECT_EQ(error_of([](RunFlags& f) { f.env = {""}; }), "invalid environment variable: ");
    EXPECT_EQ(error_of([](RunFlags& f) { f.env = {"A=", "B=c=d"}; }), "accepted");
    EXPECT_EQ(error_of([](RunFlags& f) { f.user = "2147483648"; }),
              "invalid user \"2147483648\": uids and gids must be in range 0-2147483647");
    EXPECT_EQ(error_of([](RunFlags& f) { f.user = "0:4294967296"; }),
              "invalid user \"0:4294967296\": uids and gids must be in range 0-2147483647");
    EXPECT_EQ(error_of([](RunFlags& f) { f.user = "2147483647:2147483647"; }), "accepted");
    EXPECT_EQ(error_of([](RunFlags& f) { f.user = "app:staff"; }), "accepted");
    EXPECT_EQ(error_of([](RunFlags& f) { f.image = "--frobnicate"; }), "unknown flag: --frobnicate");
    EXPECT_EQ(error_of([](RunFlags& f) { f.image = "--frob=1"; }), "unknown flag: --frob");
    // ctld takes ExtraHosts from the API body: the same check
    EXPECT_THROW(check_extra_host("a:1.2.3.4\n5.6.7.8 x"), Error);
}

TEST(RunFlags, Rejects) {
    auto bad = [](auto mutate) {
        RunFlags f;
        f.image = "tiny";
        mutate(f);
        try {
            request_from_flags(f);
            return false;
        } catch (const Error& e) {
            return e.kind() == ErrorKind::usage;
        }
    };
    EXPECT_TRUE(bad([](RunFlags& f) { f.image.clear(); }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.memory = "1k"; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.memory = "lots"; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.cpus = "-1"; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.cap_add = {"NOT_A_CAP"}; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.restart = "always"; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.workdir = "relative"; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.security_opt = {"bogus=1"}; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.networks = {"none", "n1"}; }));
    EXPECT_TRUE(bad([](RunFlags& f) { f.mounts = {"type=bind,source=/x"}; }));
}

