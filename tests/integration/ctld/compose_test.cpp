// docker-compose 1.29 (docker-py) against ctld: up -d, ps, logs, down -v on
// two services with a custom network and a named volume; the services reach
// each other by service name, and the web service answers on its published port
// (compose creates, disconnects, connects and then starts every service).
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

class Compose : public CtldTest {};

TEST_F(Compose, UpPsLogsDownWithNetworkAndVolume) {
    if (!have_program("docker-compose")) GTEST_SKIP() << "docker-compose missing";
    std::string img = tiny();
    std::string dir = tmp() + "/demo";
    make_dirs(dir);
    write_file_atomic(dir + "/docker-compose.yml",
                      "version: \"3.8\"\n"
                      "services:\n"
                      "  web:\n"
                      "    image: " + img + "\n"
                      "    init: true\n"
                      "    command: [\"sh\", \"-c\", \"mkdir -p /www && echo hello-from-web > /www/index.html && echo web up && httpd -f -p 80 -h /www\"]\n"
                      "    networks: [appnet]\n"
                      "    ports: [\"127.0.0.1:18250:80\"]\n"
                      "    volumes: [data:/data]\n"
                      "  worker:\n"
                      "    image: " + img + "\n"
                      "    init: true\n"
                      "    command: [\"sh\", \"-c\", \"echo worker up; echo shared > /data/from-worker; sleep 1000\"]\n"
                      "    depends_on: [web]\n"
                      "    networks: [appnet]\n"
                      "    volumes: [data:/data]\n"
                      "networks:\n"
                      "  appnet:\n"
                      "    driver: bridge\n"
                      "volumes:\n"
                      "  data:\n");
    auto up = compose(dir, {"up", "-d"});
    ASSERT_EQ(up.status, 0) << up << daemon_log();
    EXPECT_NE(up.err.find("Creating network \"demo_appnet\" with driver \"bridge\""), std::string::npos) << up;
    EXPECT_NE(up.err.find("Creating demo_worker_1"), std::string::npos) << up;
    auto ps = compose(dir, {"ps"});
    ASSERT_EQ(ps.status, 0) << ps;
    auto rows = split(trim(ps.out), '\n');
    ASSERT_EQ(rows.size(), 4u) << ps.out; // header, rule, two services
    EXPECT_NE(ps.out.find("demo_web_1"), std::string::npos);
    EXPECT_NE(ps.out.find("demo_worker_1"), std::string::npos);
    EXPECT_NE(rows[2].find(" Up"), std::string::npos) << ps.out;
    EXPECT_NE(rows[3].find(" Up"), std::string::npos) << ps.out; // trim() took the last row's padding
    // the services find each other by name on their network
    std::string got;
    for (int i = 0; i < 50 && got.find("hello-from-web") == std::string::npos; i++) {
        got = docker({"exec", "demo_worker_1", "wget", "-qO-", "http://web/"}).out;
        if (got.find("hello-from-web") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(got.find("hello-from-web"), std::string::npos);
    EXPECT_EQ(docker({"exec", "demo_web_1", "cat", "/data/from-worker"}).out, "shared\n");
    auto port = run_command({"sh", "-c", "for i in $(seq 50); do curl -fsS --noproxy '*' --max-time 2 "
                                         "http://127.0.0.1:18250/ && break; sleep 0.1; done"});
    EXPECT_EQ(port.out, "hello-from-web\n") << port << daemon_log();
    auto logs = compose(dir, {"logs", "--no-color"});
    ASSERT_EQ(logs.status, 0) << logs;
    EXPECT_NE(logs.out.find("worker_1  | worker up"), std::string::npos) << logs.out;
    EXPECT_NE(logs.out.find("web_1     | web up"), std::string::npos) << logs.out;
    auto down = compose(dir, {"down", "-v"});
    ASSERT_EQ(down.status, 0) << down;
    EXPECT_NE(down.err.find("Removing network demo_appnet"), std::string::npos) << down;
    EXPECT_NE(down.err.find("Removing volume demo_data"), std::string::npos) << down;
    EXPECT_EQ(docker({"ps", "-aq"}).out, "");
    EXPECT_EQ(docker({"volume", "ls", "-q"}).out, "");
    EXPECT_EQ(docker({"network", "ls", "-q", "--filter", "name=demo"}).out, "");
    EXPECT_EQ(run_command({"sh", "-c", "nft list ruleset | grep -c 18250"}).out, "0\n");
}

} // namespace
} // namespace ctk::test
