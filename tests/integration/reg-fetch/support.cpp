#include "support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"

namespace ctk::test {

using namespace std::chrono_literals;

Daemon::Daemon(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& log_path) {
    std::vector<std::string> args = argv, envs = env;
    std::vector<char*> av, ev;
    for (auto& a : args) av.push_back(a.data());
    av.push_back(nullptr);
    for (auto& e : envs) ev.push_back(e.data());
    ev.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log >= 0) {
            ::dup2(log, 1);
            ::dup2(log, 2);
        }
        if (null >= 0) ::dup2(null, 0);
        ::execvpe(av[0], av.data(), ev.data());
        ::_exit(127);
    }
    pid_ = pid;
}

bool Daemon::running() const {
    return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0;
}

void Daemon::kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

int Daemon::wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return exit_status(status);
}

void Daemon::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(20ms);
    }
    kill_now();
}

int pick_port() {
    static std::set<int> used;
    for (int port = 5100; port <= 5199; port++) {
        if (used.count(port)) continue;
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (free) {
            used.insert(port);
            return port;
        }
    }
    throw Error("no free port in 127.0.0.1:5100-5199");
}

bool wait_for_port(const std::string& host, int port, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

std::unique_ptr<RegistryInstance> start_registry(const std::string& dir, const std::string& auth_yaml,
                                                 const std::string& tls_cert, const std::string& tls_key) {
    auto r = std::make_unique<RegistryInstance>();
    r->dir = dir;
    r->port = pick_port();
    make_dirs(dir + "/storage");
    std::string config = "version: 0.1\n"
                         "log:\n  level: error\n  accesslog:\n    disabled: false\n"
                         "storage:\n  filesystem:\n    rootdirectory: " + dir + "/storage\n"
                         "  delete:\n    enabled: true\n"
                         "http:\n  addr: " + r->address() + "\n";
    if (!tls_cert.empty())
        config += "  tls:\n    certificate: " + tls_cert + "\n    key: " + tls_key + "\n";
    if (!auth_yaml.empty()) config += "auth:\n" + auth_yaml;
    write_file_atomic(dir + "/config.yml", config);
    r->process = Daemon({"docker-registry", "serve", dir + "/config.yml"}, environment_with({}),
                        dir + "/registry.log");
    if (!wait_for_port("127.0.0.1", r->port))
        throw Error("docker-registry did not start on " + r->address() + ": " +
                    read_file_if_exists(dir + "/registry.log").value_or(""));
    return r;
}

void make_certificate(const std::string& cert, const std::string& key) {
    RunOptions o;
    ProcessResult p = run_process({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                   "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                                   "subjectAltName=IP:127.0.0.1"},
                                  o);
    if (!p.ok()) throw Error("openssl req: " + p.err);
}

std::string helper_server_script() {
    const char* src = std::getenv("CTK_SOURCE_DIR");
    return std::string(src && *src ? src : ".") + "/tests/integration/reg-fetch/helper_server.py";
}

} // namespace ctk::test
