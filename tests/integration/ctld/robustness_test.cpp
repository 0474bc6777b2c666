// What users rely on beyond single flows: many clients at once, a stuck
// client that blocks nobody, bad requests that get Docker's errors, live
// restore across a restart (and a kill -9), and TCP with mutual TLS.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "api/spawn.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

class Robustness : public CtldTest {};

TEST_F(Robustness, TwentyParallelRunsAllSucceed) {
    tiny();
    std::vector<std::future<ToolResult>> runs;
    for (int i = 0; i < 20; i++)
        runs.push_back(std::async(std::launch::async, [this, i] {
            return docker({"run", "--rm", "--network", i % 2 ? "none" : "default", "tiny", "sh", "-c",
                           "echo run-" + std::to_string(i) + "; exit " + std::to_string(i % 4)});
        }));
    for (int i = 0; i < 20; i++) {
        ToolResult r = runs[i].get();
        EXPECT_EQ(r.status, i % 4) << "run " << i << ": " << r;
        EXPECT_EQ(r.out, "run-" + std::to_string(i) + "\n") << "run " << i << ": " << r;
    }
    EXPECT_EQ(docker({"ps", "-aq"}).out, "");
}

TEST_F(Robustness, AStuckClientBlocksNobody) {
    tiny();
    // half a request, never finished; an attach whose output is never read
    UniqueFd stuck(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, socket_path().c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::connect(stuck.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string half = "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"Ima";
    ASSERT_EQ(::write(stuck.get(), half.data(), half.size()), static_cast<ssize_t>(half.size()));
    ASSERT_EQ(docker({"run", "-d", "--name", "loud", "tiny", "sh", "-c", "while true; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done"}).status, 0);
    UniqueFd reader(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(reader.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string attach = "POST /v1.41/containers/loud/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
    ASSERT_EQ(::write(reader.get(), attach.data(), attach.size()), static_cast<ssize_t>(attach.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto t0 = std::chrono::steady_clock::now();
    auto r = docker({"run", "--rm", "tiny", "echo", "still-served"});
    EXPECT_EQ(r.out, "still-served\n") << r;
    EXPECT_EQ(docker({"ps", "--format", "{{.Names}}"}).out, "loud\n");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
}

TEST_F(Robustness, BadRequestsGetDockerErrorsAndTheDaemonStays) {
    auto resp = [&](const std::string& req) { return raw_request(req, 3000); };
    EXPECT_EQ(resp("GET /v1.99/version HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 400 Bad Request", 0), 0u);
    std::string old = resp("GET /v1.11/version HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(old.find("client version 1.11 is too old"), std::string::npos) << old;
    EXPECT_NE(old.find("text/plain"), std::string::npos);
    std::string nf = resp("GET /v1.41/no/such/endpoint HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(nf.rfind("HTTP/1.1 404 Not Found", 0), 0u);
    EXPECT_NE(nf.find("{\"message\":\"page not found\"}"), std::string::npos);
    EXPECT_EQ(resp("DELETE /v1.41/_ping HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
    std::string json = resp("POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{bad json");
    EXPECT_NE(json.find("invalid character 'b' looking for beginning of object key string"), std::string::npos) << json;
    std::string huge = resp("POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{");
    EXPECT_EQ(huge.rfind("HTTP/1.1 413", 0), 0u) << huge;
    std::string garbage = resp("\x16\x03\x01 not http at all\r\n\r\n");
    EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
    std::string unknown = resp("POST /v1.41/networks/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 56\r\n\r\n"
                               "{\"Name\":\"n-unknown\",\"Driver\":\"bridge\",\"FutureField\":[1]}");
    EXPECT_EQ(unknown.rfind("HTTP/1.1 201", 0), 0u) << unknown;
    std::string ping = resp("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(ping.substr(ping.size() - 2), "OK");
    EXPECT_EQ(::kill(daemon_pid(), 0), 0) << "ctld died";
}

// A connected, unserved client socket of the test's daemon.
UniqueFd connect_unix(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return UniqueFd();
    return s;
}

// What a connection got within `ms`: "" (nothing, kept open), "closed", or
// the bytes up to the server's close.
std::string answer_of(int fd, int ms) {
    std::string out;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, ms) <= 0) return out;
        char buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return out.empty() ? "closed" : out;
        out.append(buf, static_cast<size_t>(n));
    }
}

// A pids cgroup (v1) of the test's own under the test process's, holding
// ctld for a while; ctld goes back to the parent and the cgroup is removed
// at the end, whatever happened.
class PidsCgroup {
public:
    explicit PidsCgroup(int64_t max) {
        std::string own = "/";
        for (const auto& line : split(read_file_if_exists("/proc/self/cgroup").value_or(""), '\n')) {
            auto f = split(line, ':');
            if (f.size() >= 3 && f[1] == "pids") own = f[2];
        }
        parent_ = "/sys/fs/cgroup/pids" + (own == "/" ? std::string() : own);
        dir_ = parent_ + "/ctk-test-robust-" + std::to_string(::getpid());
        if (::access((parent_ + "/cgroup.procs").c_str(), W_OK) != 0) return;
        if (::mkdir(dir_.c_str(), 0755) != 0) return;
        ok_ = true;
        if (!write_text(dir_ + "/pids.max", std::to_string(max))) ADD_FAILURE() << "cannot set " << dir_ << "/pids.max";
    }
    ~PidsCgroup() {
        if (!ok_) return;
        for (int i = 0; i < 100; i++) {
            auto procs = read_file_if_exists(dir_ + "/cgroup.procs").value_or("");
            for (const auto& pid : split(trim(procs), '\n'))
                if (!pid.empty()) (void)!write_text(parent_ + "/cgroup.procs", pid);
            if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ADD_FAILURE() << "cannot remove " << dir_;
    }
    bool ok() const { return ok_; }
    bool add(pid_t pid) { return write_text(dir_ + "/cgroup.procs", std::to_string(pid)); }

private:
    static bool write_text(const std::string& path, const std::string& text) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return false;
        bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::close(fd);
        return ok;
    }
    std::string parent_, dir_;
    bool ok_ = false;
};

// A refused client may write after ctld closed: EPIPE, not SIGPIPE, here.
class NoSigpipe {
public:
    NoSigpipe() {
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        ::sigaction(SIGPIPE, &ign, &old_);
    }
    ~NoSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }

private:
    struct sigaction old_ {};
};

TEST_F(Robustness, AConnectionWithoutAThreadIsRefusedAndTheDaemonStays) {
    NoSigpipe nosig;
    // issue 16: when pthread_create failed (EAGAIN under a pids limit) ctld
    // exited with "internal error: Resource temporarily unavailable"
    PidsCgroup cg(100);
    ASSERT_TRUE(cg.ok()) << "no pids cgroup (v1) to make";
    ASSERT_TRUE(cg.add(daemon_pid()));
    std::vector<UniqueFd> idle;
    for (int i = 0; i < 300; i++) {
        UniqueFd s = connect_unix(socket_path());
        if (!s) break; // the daemon is gone: said below
        idle.push_back(std::move(s));
    }
    int refused = 0, kept = 0;
    for (auto& s : idle) {
        std::string a = answer_of(s.get(), 100);
        if (a.empty()) {
            kept++;
        } else {
            refused++;
            EXPECT_TRUE(a == "closed" || a.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0) << a;
        }
    }
    int ws = 0;
    pid_t gone = ::waitpid(daemon_pid(), &ws, WNOHANG);
    if (gone == daemon_pid()) forget_daemon();
    ASSERT_EQ(gone, 0) << "ctld died:\n" << daemon_log();
    EXPECT_EQ(idle.size(), 300u) << "connect: " << std::strerror(errno);
    EXPECT_GT(refused, 0) << "the pids limit was never reached";
    EXPECT_GT(kept, 50);
    // the idle ones gone, new clients are served again
    idle.clear();
    std::string ping;
    for (int i = 0; i < 50 && ping.find("\r\n\r\nOK") == std::string::npos; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ping = raw_request("GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000);
    }
    EXPECT_NE(ping.find("\r\n\r\nOK"), std::string::npos) << ping;
    EXPECT_NE(daemon_log().find("cannot serve a new connection"), std::string::npos) << daemon_log();
}

TEST_F(Robustness, AtTheCapAnIdleConnectionMakesRoomElse503) {
    NoSigpipe nosig;
    // 1024 connections are served at once (a thread each). A client that
    // holds them all idle does not lock others out: the one idle longest is
    // closed for the newcomer (it got 503 before).
    std::vector<UniqueFd> held;
    for (int i = 0; i < 1024; i++) {
        UniqueFd s = connect_unix(socket_path());
        ASSERT_TRUE(s) << "connect " << i << ": " << std::strerror(errno);
        held.push_back(std::move(s));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::string ping = raw_request("GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000);
    EXPECT_EQ(ping.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ping;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    size_t closed = 0, first_closed = held.size();
    for (size_t i = 0; i < held.size(); i++)
        if (answer_of(held[i].get(), 0) == "closed") {
            closed++;
            first_closed = std::min(first_closed, i);
        }
    EXPECT_EQ(closed, 1u) << "one idle connection made room";
    EXPECT_LT(first_closed, 16u) << "one of the oldest";
    held.clear();
    // when every connection is busy with a request (event streams), a new one is told so
    const std::string events = "GET /v1.41/events HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 1024; i++) {
        UniqueFd s = connect_unix(socket_path());
        ASSERT_TRUE(s) << "connect " << i << ": " << std::strerror(errno);
        ASSERT_NO_THROW(write_all(s.get(), events, "events"));
        held.push_back(std::move(s));
    }
    // all streaming (their answers begun) before the next one comes
    for (size_t i = 0; i < held.size(); i++) {
        std::string a = answer_of(held[i].get(), 10);
        for (int t = 0; t < 100 && a.empty(); t++) a = answer_of(held[i].get(), 50);
        ASSERT_EQ(a.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "events " << i << ": " << a;
    }
    std::string over = raw_request("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
    EXPECT_EQ(over.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << over;
    EXPECT_NE(over.find("too many connections"), std::string::npos) << over;
    held.clear();
    ping.clear();
    for (int i = 0; i < 50 && ping.find("\r\n\r\nOK") == std::string::npos; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ping = raw_request("GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000);
    }
    EXPECT_NE(ping.find("\r\n\r\nOK"), std::string::npos) << ping;
}

TEST_F(Robustness, RestartKeepsContainersRunning) {
    tiny();
    ASSERT_EQ(docker({"run", "-d", "--name", "lr", "tiny", "sh", "-c",
                      "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"}).status, 0);
    ASSERT_EQ(docker({"run", "-d", "-t", "--name", "lrt", "tiny", "sh", "-c", "echo tty-up; sleep 1000"}).status, 0);
    ASSERT_EQ(docker({"run", "-d", "-i", "--name", "lri", "tiny", "sh", "-c", "read line; echo got $line; sleep 1000"}).status, 0);
    ASSERT_EQ(docker({"run", "-d", "--rm", "--name", "lrrm", "tiny", "sleep", "1"}).status, 0);
    ASSERT_EQ(docker({"run", "-d", "--name", "lrexit", "tiny", "sh", "-c", "sleep 1; exit 7"}).status, 0);
    std::string pid_before = docker({"inspect", "-f", "{{.State.Pid}}", "lr"}).out;
    stop_daemon();
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    start_daemon();
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.Pid}}", "lr"}).out, pid_before);
    auto ps = docker({"ps", "-a", "--format", "{{.Names}} {{.State}}"});
    EXPECT_NE(ps.out.find("lr running"), std::string::npos) << ps.out;
    EXPECT_NE(ps.out.find("lrt running"), std::string::npos) << ps.out;
    EXPECT_NE(ps.out.find("lri running"), std::string::npos) << ps.out;
    EXPECT_EQ(ps.out.find("lrrm"), std::string::npos) << "the --rm container that exited meanwhile was not removed:\n" << ps.out;
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.ExitCode}}", "lrexit"}).out, "7\n");
    EXPECT_EQ(docker({"wait", "lrexit"}).out, "7\n");
    auto logs = docker({"logs", "lr"});
    EXPECT_GE(split(trim(logs.out), '\n').size(), 8u) << logs;
    EXPECT_NE(docker({"logs", "lrt"}).out.find("tty-up"), std::string::npos);
    // stdin is still open through the keeper: an attach after the restart feeds it
    auto fed = sh("echo hello | docker attach lri >/dev/null 2>&1 & sleep 1; docker logs lri");
    EXPECT_NE(fed.out.find("got hello"), std::string::npos) << fed;
    // and the exit of a container started before the restart is still seen
    ASSERT_EQ(docker({"kill", "lr"}).status, 0);
    EXPECT_EQ(docker({"wait", "lr"}).out, "137\n");
}

TEST_F(Robustness, SigtermAndSigintStopCleanlyWithStatusZero) {
    // threads of every kind first: a streaming request, the exit watcher, an exec
    tiny();
    ASSERT_EQ(docker({"run", "-d", "--name", "st", "tiny", "sh", "-c", "echo up; sleep 1000"}).status, 0);
    auto follow = sh("timeout 30 docker logs -f st >/dev/null 2>&1 & sleep 0.5; echo started");
    EXPECT_EQ(docker({"exec", "st", "true"}).status, 0);
    for (int sig : {SIGTERM, SIGINT}) {
        pid_t pid = daemon_pid();
        ASSERT_GT(pid, 0);
        ::kill(pid, sig);
        int ws = 0;
        pid_t got = 0;
        for (int i = 0; i < 400 && got == 0; i++) {
            got = ::waitpid(pid, &ws, WNOHANG);
            if (got == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        ASSERT_EQ(got, pid) << "ctld did not stop on " << ::strsignal(sig);
        forget_daemon();
        EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
            << ::strsignal(sig) << ": " << (WIFSIGNALED(ws) ? "killed by signal " + std::to_string(WTERMSIG(ws))
                                                                   : "exit " + std::to_string(WEXITSTATUS(ws)));
        EXPECT_NE(::access(socket_path().c_str(), F_OK), 0) << "the socket is removed";
        start_daemon();
        ASSERT_EQ(docker({"inspect", "-f", "{{.State.Running}}", "st"}).out, "true\n") << "containers keep running";
    }
}

TEST_F(Robustness, Kill9MidRequestLeavesTheStoreConsistent) {
    tiny();
    // creates and a pull in flight when ctld dies without warning
    std::vector<api::Spawned> clients;
    for (int i = 0; i < 4; i++) {
        api::SpawnOptions so;
        std::vector<std::string> argv = {"/usr/local/bin/docker", "-H", host(), "run", "-d", "--name", "k" + std::to_string(i), "tiny", "sleep", "1000"};
        clients.push_back(api::spawn(argv, so));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop_daemon(true);
    for (auto& c : clients) api::wait_child(c.pid);
    start_daemon();
    auto ps = docker({"ps", "-a", "--format", "{{.Names}}"});
    ASSERT_EQ(ps.status, 0) << ps;
    for (const auto& name : split(trim(ps.out), '\n')) {
        if (name.empty()) continue;
        auto rm = docker({"rm", "-f", name});
        EXPECT_EQ(rm.status, 0) << "a container left by the kill cannot be removed: " << rm;
    }
    EXPECT_EQ(docker({"ps", "-aq"}).out, "");
    // the store is whole: ctl reads it too, and new containers work
    auto ctl_ps = ctl({"ps", "-a", "-q"});
    EXPECT_EQ(ctl_ps.status, 0) << ctl_ps;
    EXPECT_EQ(docker({"run", "--rm", "tiny", "echo", "after"}).out, "after\n");
}

TEST_F(Robustness, TcpNeedsMutualTlsOrAnExplicitLoopbackFlag) {
    if (!have_program("openssl")) GTEST_SKIP() << "openssl missing";
    std::string d = tmp() + "/tls";
    make_dirs(d);
    auto ssl = run_command({"sh", "-c",
        "cd " + d + " && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 1 -subj /CN=ctk-test-ca 2>/dev/null && "
        "openssl req -newkey rsa:2048 -nodes -keyout key.pem -out server.csr -subj /CN=127.0.0.1 2>/dev/null && "
        "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 1 -extfile server.ext 2>/dev/null && "
        "openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj /CN=client 2>/dev/null && "
        "printf 'extendedKeyUsage=clientAuth\\n' > client.ext && "
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out client-cert.pem -days 1 -extfile client.ext 2>/dev/null && "
        "mkdir client && cp ca.pem client/ca.pem && cp client-cert.pem client/cert.pem && cp client-key.pem client/key.pem"});
    ASSERT_EQ(ssl.status, 0) << ssl;
    int port = 23000 + static_cast<int>(::getpid() % 1000);
    std::string tcp = "tcp://127.0.0.1:" + std::to_string(port);
    // plain TCP is refused without the flag
    auto refused = run_command({"timeout", "20", tool_path("ctld"), "-H", "unix://" + tmp() + "/other.sock", "-H", tcp}, "", daemon_env());
    EXPECT_EQ(refused.status, 2) << refused;
    EXPECT_NE(refused.err.find("without mutual TLS"), std::string::npos) << refused;
    auto notloop = run_command({"timeout", "20", tool_path("ctld"), "-H", "tcp://10.220.99.1:2376", "--insecure-tcp"}, "", daemon_env());
    EXPECT_EQ(notloop.status, 2) << notloop;
    stop_daemon();
    start_daemon({"-H", tcp, "--tlsverify", "--tlscacert", d + "/ca.pem", "--tlscert", d + "/cert.pem", "--tlskey", d + "/key.pem"});
    auto ok = run_command({"/usr/local/bin/docker", "--tlsverify", "-H", tcp, "version", "--format", "{{.Server.APIVersion}}"}, "",
                          {"DOCKER_CERT_PATH=" + d + "/client", "DOCKER_CONFIG=" + tmp() + "/docker-config"});
    EXPECT_EQ(ok.out, "1.41\n") << ok << daemon_log();
    auto run_tls = run_command({"/usr/local/bin/docker", "--tlsverify", "-H", tcp, "run", "--rm", tiny(), "echo", "over-tls"}, "",
                               {"DOCKER_CERT_PATH=" + d + "/client", "DOCKER_CONFIG=" + tmp() + "/docker-config"});
    EXPECT_EQ(run_tls.out, "over-tls\n") << run_tls;
    // a client without a certificate is turned away
    auto nocert = run_command({"curl", "-sk", "--max-time", "5", "https://127.0.0.1:" + std::to_string(port) + "/_ping"});
    EXPECT_NE(nocert.out, "OK") << nocert;
    auto withcert = run_command({"curl", "-s", "--max-time", "5", "--cacert", d + "/ca.pem", "--cert", d + "/client-cert.pem",
                                 "--key", d + "/client-key.pem", "https://127.0.0.1:" + std::to_string(port) + "/_ping"});
    EXPECT_EQ(withcert.out, "OK") << withcert;
    // ctl -H talks TLS too
    auto ctl_tls = ctl({"-H", tcp, "--tlsverify", "--tlscacert", d + "/ca.pem", "--tlscert", d + "/client-cert.pem", "--tlskey",
                        d + "/client-key.pem", "ps", "-a", "-q"});
    EXPECT_EQ(ctl_tls.status, 0) << ctl_tls;
}

TEST_F(Robustness, HostConfigSettingsAreAppliedOrRefusedNeverDropped) {
    tiny();
    auto create = [&](const std::string& body) {
        return raw_request("POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body, 5000);
    };
    std::string image = "\"Image\":\"" + registry() + "/tiny:latest\"";
    std::string wrong_type = create("{" + image + ",\"HostConfig\":\"x\"}");
    EXPECT_EQ(wrong_type.rfind("HTTP/1.1 400", 0), 0u) << wrong_type;
    EXPECT_NE(wrong_type.find("cannot unmarshal string"), std::string::npos) << wrong_type;
    std::string relative = create("{" + image + ",\"HostConfig\":{\"Binds\":[\"../../etc:/x\"]}}");
    EXPECT_EQ(relative.rfind("HTTP/1.1 400", 0), 0u) << relative;
    EXPECT_NE(relative.find("must be absolute"), std::string::npos) << relative;
    std::string pid_container = create("{" + image + ",\"HostConfig\":{\"PidMode\":\"container:x\"}}");
    EXPECT_EQ(pid_container.rfind("HTTP/1.1 400", 0), 0u) << pid_container;
    std::string not_a_device = create("{" + image + ",\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/etc/passwd\"}]}}");
    EXPECT_EQ(not_a_device.rfind("HTTP/1.1 400", 0), 0u) << not_a_device;

    // a missing bind source is 400 (the CLI does not pull again), as docker's
    auto missing = docker({"run", "--rm", "--network", "none", "--mount", "type=bind,src=/no/such/dir,dst=/x", "tiny", "true"});
    EXPECT_EQ(missing.status, 125) << missing;
    EXPECT_EQ(missing.err.find("Unable to find image"), std::string::npos) << missing;

    // --pid host, --ipc host, --device and tmpfs-size take effect
    std::string host_pid1(trim(read_file("/proc/1/comm")));
    auto pid = docker({"run", "--rm", "--network", "none", "--pid", "host", "tiny", "cat", "/proc/1/comm"});
    EXPECT_EQ(trim(pid.out), host_pid1) << pid;
    auto own = docker({"run", "--rm", "--network", "none", "tiny", "cat", "/proc/1/comm"});
    EXPECT_EQ(trim(own.out), "cat") << own;
    char host_ipc[128] = {};
    ASSERT_GT(::readlink("/proc/self/ns/ipc", host_ipc, sizeof host_ipc - 1), 0);
    auto ipc = docker({"run", "--rm", "--network", "none", "--ipc", "host", "tiny", "readlink", "/proc/self/ns/ipc"});
    EXPECT_EQ(trim(ipc.out), host_ipc) << ipc;
    auto dev = docker({"run", "--rm", "--network", "none", "--device", "/dev/fuse:/dev/myfuse", "tiny", "sh", "-c",
                       "stat -c '%t:%T %F' /dev/myfuse && echo probe > /dev/myfuse; echo rc=$?"});
    EXPECT_NE(dev.out.find("a:e5 character special file"), std::string::npos) << dev;
    auto nodev = docker({"run", "--rm", "--network", "none", "tiny", "test", "-e", "/dev/myfuse"});
    EXPECT_EQ(nodev.status, 1) << nodev;
    auto tmpfs = docker({"run", "--rm", "--network", "none", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m", "tiny", "sh",
                         "-c", "df -k /t | tail -n 1"});
    EXPECT_NE(tmpfs.out.find(" 1024 "), std::string::npos) << tmpfs;
}

} // namespace
} // namespace ctk::test
