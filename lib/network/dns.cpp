#include "network/dns.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

namespace ctk::network {

// --- files -------------------------------------------------------------------------------

ResolvConf resolv_conf_for(const Network& n, const NetworkConfig& config) {
    ResolvSettings s;
    s.host_text = read_file_if_exists(host_resolv_conf_path, 1 << 20).value_or("");
    if (n.has_names()) s.responder = format_address(n.gateway);
    else if (!n.internal) s.upstreams = config.dns;
    return container_resolv_conf(s);
}

std::string hosts_file_for(const Network& n, const Endpoint& e) {
    HostsSettings s;
    if (!e.name.empty()) s.names.push_back(e.name);
    if (!e.container_id.empty()) s.names.push_back(e.container_id.substr(0, 12));
    s.address = format_address(e.address);
    (void)n;
    return container_hosts(s);
}

// --- messages ---------------------------------------------------------------------------

static uint16_t get16(const std::string& p, size_t off) {
    return static_cast<uint16_t>((static_cast<unsigned char>(p[off]) << 8) | static_cast<unsigned char>(p[off + 1]));
}

static void put16(std::string& p, uint16_t v) {
    p += static_cast<char>(v >> 8);
    p += static_cast<char>(v & 0xff);
}

std::optional<DnsQuestion> parse_dns_query(const std::string& p) {
    if (p.size() < 12) return std::nullopt;
    DnsQuestion q;
    q.id = get16(p, 0);
    q.flags = get16(p, 2);
    if (q.flags & 0x8000) return std::nullopt;         // a response
    if (((q.flags >> 11) & 0xf) != 0) return std::nullopt; // not QUERY
    if (get16(p, 4) != 1) return std::nullopt;        // one question
    size_t off = 12;
    std::string name;
    for (;;) {
        if (off >= p.size()) return std::nullopt;
        auto len = static_cast<unsigned char>(p[off++]);
        if (len == 0) break;
        if (len > 63 || off + len > p.size()) return std::nullopt; // compression is not used in questions
        if (!name.empty()) name += '.';
        name += to_lower(std::string_view(p).substr(off, len));
        off += len;
        if (name.size() > 253) return std::nullopt;
    }
    if (off + 4 > p.size()) return std::nullopt;
    q.name = name;
    q.type = get16(p, off);
    q.klass = get16(p, off + 2);
    q.question_end = off + 4;
    return q;
}

std::string dns_answer(const std::string& query, const DnsQuestion& q, const std::vector<uint32_t>& addresses,
                       uint8_t rcode) {
    std::string r;
    put16(r, q.id);
    // QR, opcode 0, AA, RD copied, RA, rcode
    uint16_t flags = static_cast<uint16_t>(0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | (rcode & 0xf));
    put16(r, flags);
    put16(r, 1);
    put16(r, static_cast<uint16_t>(addresses.size()));
    put16(r, 0);
    put16(r, 0);
    r.append(query, 12, q.question_end - 12);
    for (uint32_t a : addresses) {
        put16(r, 0xc00c); // the name in the question
        put16(r, dns_type_a);
        put16(r, dns_class_in);
        put16(r, 0);
        put16(r, 600); // TTL, as Docker's embedded DNS
        put16(r, 4);
        uint32_t be = htonl(a);
        r.append(reinterpret_cast<const char*>(&be), 4);
    }
    return r;
}

std::vector<uint32_t> resolve_name(const Network& n, const std::string& query) {
    std::string name = to_lower(query);
    if (!name.empty() && name.back() == '.') name.pop_back();
    std::vector<uint32_t> out;
    if (name.empty()) return out;
    for (const auto& e : n.endpoints) {
        bool match = to_lower(e.name) == name;
        for (const auto& a : e.aliases) match = match || to_lower(a) == name;
        if (!e.container_id.empty())
            match = match || to_lower(e.container_id) == name ||
                    (name.size() == 12 && to_lower(e.container_id).rfind(name, 0) == 0);
        if (match && std::find(out.begin(), out.end(), e.address) == out.end()) out.push_back(e.address);
    }
    return out;
}

// --- the responder ------------------------------------------------------------------------

namespace {

std::optional<std::string> ask_upstream(const std::string& query, const std::string& upstream) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return std::nullopt;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(53);
    if (::inet_pton(AF_INET, upstream.c_str(), &to.sin_addr) != 1) return std::nullopt;
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return std::nullopt;
    if (::send(s.get(), query.data(), query.size(), 0) < 0) return std::nullopt;
    pollfd pfd{s.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 2000) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < 12) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
}

// Names on the asking container's other user networks: Docker's embedded DNS
// answers for every network of the container, so a container connected to a
// second network (`network connect`) finds names there through the resolver
// its resolv.conf names. The container is the endpoint of `net` that holds
// the source address; its other endpoints share its namespace.
std::vector<uint32_t> resolve_on_other_networks(const Network& net, const std::string& network_file,
                                                uint32_t client, const std::string& name) {
    std::string key;
    for (const auto& e : net.endpoints)
        if (e.address == client) key = e.netns_key;
    if (key.empty()) return {};
    std::string dir = network_file.substr(0, network_file.rfind('/'));
    DIR* d = ::opendir(dir.c_str());
    if (!d) return {};
    std::vector<std::string> files;
    while (dirent* e = ::readdir(d)) {
        std::string f = e->d_name;
        if (f.size() > 5 && f[0] != '.' && f.compare(f.size() - 5, 5, ".json") == 0 && dir + "/" + f != network_file)
            files.push_back(dir + "/" + f);
    }
    ::closedir(d);
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        try {
            Network other = network_from_json(read_json_file(f), f);
            if (!other.has_names()) continue;
            bool member = false;
            for (const auto& e : other.endpoints) member = member || e.netns_key == key;
            if (!member) continue;
            auto found = resolve_name(other, name);
            if (!found.empty()) return found;
        } catch (const Error&) {
            // a file being replaced, or not a network
        }
    }
    return {};
}

} // namespace

int run_dns_responder(const ResponderOptions& o) {
    Network net;
    timespec loaded{};
    ino_t loaded_ino = 0;
    std::string network_id; // the network this responder was started for
    // false once the network file is gone or names another network (removed
    // by a tool that crashed, or by hand, then made again): the responder
    // must not hold the gateway's port 53 for ever.
    auto refresh = [&]() -> bool {
        struct stat st {};
        if (::stat(o.network_file.c_str(), &st) < 0) return errno != ENOENT;
        if (st.st_ino == loaded_ino && st.st_mtim.tv_sec == loaded.tv_sec && st.st_mtim.tv_nsec == loaded.tv_nsec)
            return true;
        try {
            net = network_from_json(read_json_file(o.network_file), o.network_file);
            loaded = st.st_mtim;
            loaded_ino = st.st_ino;
        } catch (const Error&) {
            return true; // a file being replaced: answer from what we had
        }
        if (network_id.empty()) network_id = net.id;
        return net.id == network_id;
    };
    if (!refresh()) return 0;
    char buf[4096];
    for (;;) {
        pollfd pfd{o.socket_fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, 1000);
        if (ready < 0 && errno != EINTR) throw_errno("poll DNS socket");
        if (ready <= 0) {
            if (!refresh()) return 0;
            continue;
        }
        sockaddr_in from{};
        socklen_t fromlen = sizeof from;
        ssize_t n = ::recvfrom(o.socket_fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromlen);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            throw_errno("receive DNS query");
        }
        std::string query(buf, static_cast<size_t>(n));
        auto q = parse_dns_query(query);
        if (!q) continue;
        if (!refresh()) return 0;
        std::string reply;
        auto addresses = q->klass == dns_class_in ? resolve_name(net, q->name) : std::vector<uint32_t>{};
        if (addresses.empty() && q->klass == dns_class_in)
            addresses = resolve_on_other_networks(net, o.network_file, ntohl(from.sin_addr.s_addr), q->name);
        if (!addresses.empty()) {
            if (q->type == dns_type_a) {
                reply = dns_answer(query, *q, addresses);
            } else {
                reply = dns_answer(query, *q, {}); // the name exists, without records of this type
            }
        } else {
            for (const auto& u : o.upstreams) {
                if (auto r = ask_upstream(query, u)) {
                    reply = *r;
                    break;
                }
            }
            if (reply.empty()) reply = dns_answer(query, *q, {}, dns_rcode_servfail);
        }
        ::sendto(o.socket_fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fromlen);
    }
}

static std::string pid_file(const NetworkStore& store, const Network& n) {
    return store.run_dir(n.name) + "/dns.pid";
}

int dns_responder_pid(const NetworkStore& store, const Network& n) {
    auto text = read_file_if_exists(pid_file(store, n), 64);
    if (!text) return 0;
    auto pid = parse_uint(trim(*text));
    if (!pid || *pid == 0 || *pid > 1u << 22) return 0;
    auto cmdline = read_file_if_exists("/proc/" + std::to_string(*pid) + "/cmdline", 1 << 16);
    if (!cmdline) return 0;
    // The pid could have been reused: it must be the responder of this network file.
    std::string file = store.paths().network(n.name);
    if (cmdline->find("_dns-responder") == std::string::npos ||
        cmdline->find(std::string("\0", 1) + file + std::string("\0", 1)) == std::string::npos)
        return 0;
    return static_cast<int>(*pid);
}

void start_dns_responder(const NetworkStore& store, const Network& n, const NetworkConfig& config) {
    if (dns_responder_pid(store, n)) return;
    std::string dir = store.run_dir(n.name);
    make_dirs(dir, 0700);
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("create DNS socket");
    int one = 1;
    ::setsockopt(sock.get(), SOL_IP, IP_FREEBIND, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(53);
    addr.sin_addr.s_addr = htonl(n.gateway);
    auto bind_port = [&] { return ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ? errno : 0; };
    int err = bind_port();
    if (err == EADDRINUSE && stop_stale_responders(store, n) > 0) err = bind_port();
    if (err)
        throw_errno("bind DNS responder of network " + quote(n.name) + " to", format_address(n.gateway) + ":53", err);

    std::string exe = self_exe_dir() + "/net-bridge";
    std::vector<std::string> args = {exe, "_dns-responder", "--network-file", store.paths().network(n.name)};
    if (!n.internal)
        for (const auto& u : config.dns) args.insert(args.end(), {"--upstream", u});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = dir + "/dns.log";

    // The next attach recognises the responder by its command line: the pid
    // file is written once the child has executed (its end of this
    // close-on-exec pipe closed), or a second responder would meet EADDRINUSE.
    UniqueFd exec_r, exec_w;
    make_pipe(exec_r, exec_w);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork DNS responder");
    if (pid == 0) {
        exec_r.reset();
        ::setsid();
        int devnull = ::open("/dev/null", O_RDWR);
        int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (devnull < 0 || logfd < 0) ::_exit(127);
        if (sock.get() == 3) {
            ::fcntl(3, F_SETFD, 0);
        } else {
            ::dup2(sock.get(), 3);
        }
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(logfd, 2);
        if (exec_w.get() >= 4) ::close_range(4, static_cast<unsigned>(exec_w.get()) - 1, 0);
        ::close_range(static_cast<unsigned>(exec_w.get()) + 1, ~0u, 0);
        // A caller that blocks or ignores SIGTERM (a daemon reading it from
        // a signalfd) must not pass that on: stop_dns_responder relies on it.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    exec_w.reset();
    char c;
    while (::read(exec_r.get(), &c, 1) < 0 && errno == EINTR) {
    }
    write_file_atomic(pid_file(store, n), std::to_string(pid) + "\n", 0600);
}

namespace {

// SIGTERM, then SIGKILL, through a pidfd (it pins the process: the pid is not
// ours to reap, and could be reused); returns once the process is gone, so
// that its socket on gateway:53 is closed and the port free for the next
// responder. Bounded: a process that survives SIGKILL for 5 s is not waited for.
void terminate_responder(int pid, const std::function<bool()>& still_it) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd || !still_it()) return;
    auto gone_within = [&](int ms) {
        pollfd pfd{pidfd.get(), POLLIN, 0};
        int r;
        while ((r = ::poll(&pfd, 1, ms)) < 0 && errno == EINTR) {
        }
        return r != 0;
    };
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
    if (gone_within(2000)) return;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    gone_within(5000);
}

// The value of `--network-file` in a responder's command line, or "".
std::string responder_network_file(const std::string& cmdline) {
    auto args = split(cmdline, '\0');
    if (args.size() < 2 || args[1] != "_dns-responder") return "";
    for (size_t i = 2; i + 1 < args.size(); ++i)
        if (args[i] == "--network-file") return args[i + 1];
    return "";
}

} // namespace

void stop_dns_responder(const NetworkStore& store, const Network& n) {
    if (int pid = dns_responder_pid(store, n))
        terminate_responder(pid, [&] { return dns_responder_pid(store, n) == pid; });
    ::unlink(pid_file(store, n).c_str());
}

int stop_stale_responders(const NetworkStore& store, const Network& n) {
    const std::string own_file = store.paths().network(n.name);
    const int own_pid = dns_responder_pid(store, n);
    int stopped = 0;
    DIR* d = ::opendir("/proc");
    if (!d) return 0;
    std::vector<std::pair<int, std::string>> stale;
    while (dirent* e = ::readdir(d)) {
        auto pid = parse_uint(e->d_name);
        if (!pid || *pid == 0 || static_cast<int>(*pid) == own_pid) continue;
        std::string cmdline = read_file_if_exists("/proc/" + std::string(e->d_name) + "/cmdline", 1 << 16).value_or("");
        std::string file = responder_network_file(cmdline);
        if (file.empty()) continue;
        // This network's file (its pid file lost), or a file that is gone.
        if (file == own_file || ::access(file.c_str(), F_OK) < 0) stale.emplace_back(static_cast<int>(*pid), cmdline);
    }
    ::closedir(d);
    for (const auto& [pid, cmdline] : stale) {
        terminate_responder(pid, [&, pid = pid, cmdline = cmdline] {
            return read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline", 1 << 16).value_or("") == cmdline;
        });
        ++stopped;
    }
    return stopped;
}

} // namespace ctk::network
