// ctld's traffic beside the real engine's: the reference recordings' own
// tools (tproxy.py records, render.py templates the paths) record the docker
// CLI and docker-compose talking to ctld, and each command's endpoint
// sequence (method, templated path, API version, status, hijack) must equal
// the one recorded with Docker Engine 20.10 for the same command. The raw
// bytes of hijacked streams are checked for Docker's framing.
#include <cstdlib>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/spawn.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

struct Endpoint {
    std::string method, path, version, status;
    bool hijacked = false;
    bool operator==(const Endpoint& o) const {
        return method == o.method && path == o.path && version == o.version && status == o.status && hijacked == o.hijacked;
    }
};

std::ostream& operator<<(std::ostream& os, const Endpoint& e) {
    return os << e.method << " " << e.path << " " << e.version << " -> " << e.status << (e.hijacked ? " [hijacked]" : "");
}

// ToolTest::shared_dir() is for the fixture's members; same rule here.
std::string reference_dir() {
    const char* shared = std::getenv("CTK_SHARED_DIR");
    const char* source = std::getenv("CTK_SOURCE_DIR");
    std::string dir = shared && *shared ? shared : std::string(source && *source ? source : ".") + "/../shared";
    return dir + "/reference/docker-api";
}

// The ENDPOINT SEQUENCE block of a reference file: one list per command.
std::vector<std::vector<Endpoint>> reference_sequence(const std::string& file) {
    std::vector<std::vector<Endpoint>> out;
    std::string text = read_file(reference_dir() + "/" + file);
    auto start = text.find("ENDPOINT SEQUENCE");
    if (start == std::string::npos) return out;
    auto lines = split(text.substr(start), '\n');
    for (size_t i = 1; i < lines.size(); i++) {
        const std::string& l = lines[i];
        if (trim(l).empty()) break;
        if (l.rfind("  $ ", 0) == 0) {
            out.emplace_back();
            continue;
        }
        if (l.rfind("  [", 0) == 0) continue;
        std::vector<std::string> w;
        for (const auto& x : split(l, ' '))
            if (!x.empty()) w.push_back(x);
        if (w.size() < 5 || out.empty()) continue;
        Endpoint e{w[0], w[1], w[2], w[4], w.size() > 5 && w[5] == "[hijacked]"};
        out.back().push_back(e);
    }
    return out;
}

class Traffic : public CtldTest {
protected:
    void SetUp() override {
        CtldTest::SetUp();
        if (!have_program("python3")) GTEST_SKIP() << "python3 missing";
        trace_ = tmp() + "/trace.jsonl";
        proxy_ = tmp() + "/trace.sock";
        api::SpawnOptions so;
        so.stderr_fd = 2;
        std::vector<std::string> argv = {"python3", reference_dir() + "/tools/tproxy.py", proxy_, socket_path(), trace_};
        proxy_pid_ = api::spawn(argv, so).pid;
        for (int i = 0; i < 100 && ::access(proxy_.c_str(), F_OK) != 0; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ASSERT_EQ(::access(proxy_.c_str(), F_OK), 0) << "tproxy.py did not start";
        tiny();
    }
    void TearDown() override {
        if (proxy_pid_ > 0) {
            ::kill(proxy_pid_, SIGTERM);
            api::wait_child(proxy_pid_);
        }
        CtldTest::TearDown();
    }

    void mark(const Json& j) {
        UniqueFd f(::open(trace_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
        write_all(f.get(), dump_compact(j) + "\n", trace_);
    }
    double now() const {
        return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    }
    // tproxy.py keeps its trace open (O_APPEND): truncate, never unlink.
    void restart_trace() { ASSERT_EQ(::truncate(trace_.c_str(), 0), 0); }
    // Runs a shell command as a client of the proxy, marked in the trace.
    ToolResult client(const std::string& cmd) {
        mark(Json{{"ev", "cmd"}, {"at", now()}, {"cmd", cmd}});
        std::vector<std::string> e = daemon_env();
        e.push_back("DOCKER_HOST=unix://" + proxy_);
        e.push_back("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
        ToolResult r = run_command({"sh", "-c", cmd}, "", e);
        std::this_thread::sleep_for(std::chrono::milliseconds(150)); // late events of the command land before the next
        mark(Json{{"ev", "cmd_done"}, {"at", now()}, {"rc", r.status}, {"output", r.out + r.err}});
        return r;
    }
    // ctld's endpoint sequence per command, through render.py.
    std::vector<std::vector<Endpoint>> recorded() {
        std::string eps = tmp() + "/endpoints.json";
        auto r = run_command({"python3", reference_dir() + "/tools/render.py", "--title", "ctld", "--out", tmp() + "/rendered.txt",
                              "--endpoints-json", eps, trace_});
        EXPECT_EQ(r.status, 0) << r;
        std::vector<std::vector<Endpoint>> out;
        Json j = Json::parse(read_file(eps));
        std::string last = "\x01";
        for (const auto& section : j)
            for (const auto& e : section[1]) {
                std::string cmd = e[0];
                if (cmd != last) {
                    out.emplace_back();
                    last = cmd;
                }
                std::string ver = e[3].is_null() ? "(unversioned)" : "v" + e[3].get<std::string>();
                out.back().push_back(Endpoint{e[1], e[2], ver, std::to_string(e[4].get<int>()), e[5].get<bool>()});
            }
        return out;
    }
    // Compares command by command (the reference's commands `skip`ped are not replayed).
    // Commands in `unordered` issue requests from several client threads at once
    // (docker-compose logs): their order is the client's scheduling, so compared as sets.
    void compare(const std::string& file, const std::vector<size_t>& replayed, const std::vector<size_t>& unordered = {}) {
        auto ref = reference_sequence(file);
        auto got = recorded();
        ASSERT_EQ(got.size(), replayed.size()) << "commands recorded";
        for (size_t k = 0; k < replayed.size(); k++) {
            ASSERT_LT(replayed[k], ref.size());
            const auto& want = ref[replayed[k]];
            std::vector<std::string> wl, gl;
            for (const auto& e : want) {
                std::ostringstream o;
                o << "  " << e << "\n";
                wl.push_back(o.str());
            }
            for (const auto& e : got[k]) {
                std::ostringstream o;
                o << "  " << e << "\n";
                gl.push_back(o.str());
            }
            if (std::find(unordered.begin(), unordered.end(), replayed[k]) != unordered.end()) {
                std::sort(wl.begin(), wl.end());
                std::sort(gl.begin(), gl.end());
            }
            std::ostringstream w, g;
            for (const auto& l : wl) w << l;
            for (const auto& l : gl) g << l;
            EXPECT_EQ(g.str(), w.str()) << file << ", command " << replayed[k] + 1;
        }
    }
    // The raw bytes the daemon sent on hijacked connections.
    std::string hijacked_output() {
        std::string out;
        std::ifstream in(trace_);
        std::string line;
        while (std::getline(in, line)) {
            Json j = Json::parse(line, nullptr, false);
            if (j.is_discarded() || j.value("ev", "") != "raw" || j.value("dir", "") == "c2s") continue;
            std::string b64 = j.value("data", "");
            // base64 decode
            static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            uint32_t acc = 0;
            int bits = 0;
            for (char c : b64) {
                auto p = chars.find(c);
                if (p == std::string::npos) continue;
                acc = (acc << 6) | static_cast<uint32_t>(p);
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    out.push_back(static_cast<char>((acc >> bits) & 0xff));
                }
            }
        }
        return out;
    }

    std::string trace_, proxy_;
    pid_t proxy_pid_ = -1;
};

TEST_F(Traffic, VersionInfoImages) {
    client("docker version");
    compare("01-version.txt", {0});
    restart_trace();
    client("docker info");
    compare("02-info.txt", {0});
    restart_trace();
    client("docker images");
    client("docker images -a --digests");
    client("docker image inspect tiny");
    compare("03-images.txt", {0, 1, 2});
}

TEST_F(Traffic, RunRmFramesStdout) {
    auto r = client("docker run --rm tiny echo hi");
    EXPECT_EQ(r.out, "hi\n");
    compare("05-run-rm.txt", {0});
    EXPECT_EQ(hijacked_output(), std::string("\x01\0\0\0\0\0\0\x03hi\n", 11));
}

TEST_F(Traffic, RunStdinExitCodeCreateStartAttach) {
    client("echo hello-stdin | docker run --rm -i tiny cat");
    client("docker run --rm tiny sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'");
    compare("06-run-stdin-exitcode.txt", {0, 1});
    std::string raw = hijacked_output();
    EXPECT_NE(raw.find(std::string("\x01\0\0\0\0\0\0\x0chello-stdin\n", 20)), std::string::npos);
    EXPECT_NE(raw.find(std::string("\x02\0\0\0\0\0\0\x0ato-stderr\n", 18)), std::string::npos);
    restart_trace();
    client("docker create --name ca tiny echo created-then-started");
    client("docker start -a ca");
    client("docker rm ca");
    compare("07-create-start-attach.txt", {0, 1, 2});
}

TEST_F(Traffic, ExecDetachedLifecycleLogs) {
    client("docker run -d --name ex tiny sleep 1000");
    client("docker exec ex echo hi");
    client("echo hello-exec-stdin | docker exec -i ex cat");
    client("docker exec ex sh -c 'echo out; echo err >&2; exit 3'");
    client("docker exec -d ex sleep 5");
    client("docker rm -f ex");
    compare("09-exec.txt", {0, 1, 2, 3, 4, 6});
    restart_trace();
    client("docker run -d --name w1 tiny sh -c 'echo started; echo warn >&2; sleep 1000'");
    client("docker ps");
    client("docker ps -a --no-trunc");
    client("docker logs w1");
    client("docker logs --timestamps --tail 1 w1");
    client("docker inspect w1");
    client("docker stop -t 1 w1");
    client("docker rm w1");
    compare("10-detached-lifecycle.txt", {0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_F(Traffic, NetworksVolumesCp) {
    client("docker network create n1");
    client("docker run -d --name netc --network n1 tiny sleep 1000");
    client("docker run --rm --network n1 tiny sh -c 'nslookup netc | grep -A1 ^Name; hostname'");
    client("docker run -d --name netd tiny sleep 1000");
    client("docker network connect n1 netd");
    client("docker network disconnect n1 netd");
    client("docker network ls");
    client("docker network inspect n1");
    client("docker network rm n1");
    client("docker rm -f netc netd");
    client("docker network rm n1");
    compare("11-network.txt", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    restart_trace();
    std::string host = tmp() + "/host";
    make_dirs(host);
    write_file_atomic(host + "/hostfile.txt", "x\n");
    client("docker volume create v1");
    client("docker run --rm -v v1:/data tiny sh -c 'echo persisted > /data/f; ls /data'");
    client("docker run --rm -v v1:/data:ro -v " + host + ":/h tiny sh -c 'cat /data/f /h/hostfile.txt; echo w > /h/out.txt'");
    client("docker run --rm --mount type=bind,src=" + host + ",dst=/h2,readonly tiny ls /h2");
    client("docker run --rm -v /data2 tiny true");
    client("docker volume ls");
    client("docker volume inspect v1");
    client("docker volume rm v1");
    client("docker volume prune -f");
    compare("12-volume-bind.txt", {0, 1, 2, 3, 4, 5, 6, 7, 8});
    restart_trace();
    std::string cp = tmp() + "/cp";
    make_dirs(cp);
    write_file_atomic(cp + "/in.txt", "in\n");
    client("docker run -d --name cpc tiny sh -c 'echo made > /tmp/out.txt; mkdir -p /tmp/d; echo x > /tmp/d/y; sleep 1000'");
    client("cd " + cp + " && docker cp in.txt cpc:/tmp/");
    client("docker exec cpc cat /tmp/in.txt");
    client("cd " + cp + " && docker cp cpc:/tmp/out.txt ./out.txt && cat out.txt");
    client("cd " + cp + " && docker cp cpc:/tmp/d . && ls -R d");
    client("cd " + cp + " && docker cp cpc:/nonexistent .");
    client("echo not-a-tar | docker cp - cpc:/tmp/");
    client("docker rm -f cpc");
    compare("19-cp.txt", {0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_F(Traffic, ErrorsAndVersionRules) {
    client("docker run -d --name w tiny sh -c 'echo started; sleep 1000'");
    client("docker logs w");
    client("docker inspect w");
    client("docker stop w");
    client("docker rm w");
    compare("21-errors-invalid-name-missing-object.txt", {0, 1, 2, 3, 4});
    restart_trace();
    std::string id(trim(docker({"image", "inspect", "-f", "{{.Id}}", "tiny"}).out));
    id = id.substr(7, 12);
    std::string c = "curl -s -i --unix-socket " + proxy_ + " ";
    client("docker pull " + registry() + "/nosuch");
    client("docker run --rm " + registry() + "/nosuch:v9 true");
    client("docker create --name dup tiny; docker create --name dup tiny");
    client("docker rm dup");
    client("docker run -d --name busy -v inuse:/x tiny sleep 1000");
    client("docker rm busy");
    client("docker volume rm inuse");
    client("docker rmi " + id);
    client("docker start nosuchctr");
    client("docker kill busy");
    client("docker exec busy true");
    client("docker rm -v busy");
    client(c + "http://localhost/v1.99/version");
    client(c + "http://localhost/v1.11/version");
    client(c + "http://localhost/v1.41/no/such/endpoint");
    client(c + "-H 'Content-Type: application/json' -d '{bad json' http://localhost/v1.41/containers/create");
    client(c + "-H 'Content-Type: text/plain' -d '{}' http://localhost/v1.41/containers/create");
    client(c + "-X POST http://localhost/v1.41/containers/nosuch/start");
    client(c + "http://localhost/_ping");
    client(c + "http://localhost/v1.41/_ping");
    compare("22-errors-misc.txt", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20});
}

TEST_F(Traffic, LogsFollowAndTtyLogs) {
    client("docker run -d --name lf tiny sh -c 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.5; done'");
    auto f = client("timeout -s INT 2 docker logs -f lf");
    EXPECT_NE(f.out.find("tick 2"), std::string::npos) << f;
    client("docker run -d -t --name tl tiny sh -c 'echo tty-out; echo tty-err >&2; sleep 1000'");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto t = client("docker logs tl");
    EXPECT_EQ(t.out, "tty-out\r\ntty-err\r\n") << t;
    client("docker rm -f lf tl");
    compare("23-logs-follow-tty-logs.txt", {0, 1, 2, 3, 4});
}

TEST_F(Traffic, Compose) {
    if (!have_program("docker-compose")) GTEST_SKIP() << "docker-compose missing";
    std::string dir = tmp() + "/demo";
    make_dirs(dir);
    write_file_atomic(dir + "/docker-compose.yml",
                      "version: \"3.8\"\n"
                      "services:\n"
                      "  web:\n"
                      "    image: tiny\n"
                      "    command: sh -c 'mkdir -p /www; exec httpd -f -p 80 -h /www'\n" // httpd: an applet without a link in /bin
                      "    init: true\n"
                      "    networks: [appnet]\n"
                      "    volumes: [data:/data]\n"
                      "  worker:\n"
                      "    image: tiny\n"
                      "    command: sh -c 'echo worker up; sleep 1000'\n"
                      "    init: true\n"
                      "    depends_on: [web]\n"
                      "    networks: [appnet]\n"
                      "    volumes: [data:/data]\n"
                      "networks:\n"
                      "  appnet:\n"
                      "    driver: bridge\n"
                      "volumes:\n"
                      "  data:\n");
    client("cd " + dir + " && docker-compose up -d");
    client("cd " + dir + " && docker-compose ps");
    client("cd " + dir + " && docker-compose logs");
    client("cd " + dir + " && docker-compose down -v");
    compare("20-compose.txt", {0, 1, 2, 3}, {2});
}

} // namespace
} // namespace ctk::test
