// Helpers for the reg-fetch integration tests: background processes owned by
// PID, loopback ports in the range reserved for these tests (5100-5199),
// extra docker-registry instances (htpasswd, token auth, TLS) with generated
// config files, and the Python helper (token service, misbehaving proxy).
#pragma once

#include <sys/types.h>

#include <memory>
#include <utility>
#include <string>
#include <vector>

namespace ctk::test {

// A process started in the background and stopped (SIGTERM, then SIGKILL) by
// its PID when the owner goes away.
class Daemon {
public:
    Daemon() = default;
    Daemon(const std::vector<std::string>& argv, const std::vector<std::string>& env,
           const std::string& log_path);
    Daemon(Daemon&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
    Daemon& operator=(Daemon&& o) noexcept {
        if (this != &o) {
            stop();
            pid_ = std::exchange(o.pid_, -1);
        }
        return *this;
    }
    ~Daemon() { stop(); }

    pid_t pid() const { return pid_; }
    void kill_now(); // SIGKILL and reap
    void stop();
    // Waits for the exit; returns the status as a shell reports it.
    int wait();
    bool running() const;

private:
    pid_t pid_ = -1;
};

// A free port in 5100-5199 on 127.0.0.1, not handed out before by this process.
int pick_port();
// Waits until something accepts connections on host:port.
bool wait_for_port(const std::string& host, int port, int timeout_ms = 10000);

// A docker-registry (distribution 2.x) with its own storage under `dir`; its
// access log (one combined-format line a request) goes to `dir`/registry.log.
struct RegistryInstance {
    std::string dir;
    int port = 0;
    Daemon process;
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

// `auth_yaml`: the "auth:" block (indented by two spaces), "" for none.
// With `tls_cert`/`tls_key`, the registry speaks HTTPS.
std::unique_ptr<RegistryInstance> start_registry(const std::string& dir, const std::string& auth_yaml,
                                                 const std::string& tls_cert = "",
                                                 const std::string& tls_key = "");

// A self-signed certificate for 127.0.0.1 (CN and subjectAltName).
void make_certificate(const std::string& cert, const std::string& key);

std::string helper_server_script();

} // namespace ctk::test
