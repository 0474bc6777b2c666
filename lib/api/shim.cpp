#include "api/shim.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "api/spawn.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "engine/timefmt.hpp"
#include "linux/console.hpp"

namespace ctk::api {

ShimSpec shim_paths(const std::string& run_dir, const std::string& id) {
    ShimSpec s;
    s.id = id;
    std::string base = run_dir + "/shim/" + id.substr(0, 16);
    s.control = base + ".ctl";
    s.console = base + ".con";
    return s;
}

namespace {

UniqueFd listen_unix(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw Error("socket path too long: " + path);
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ::unlink(path.c_str());
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind", path);
    ::chmod(path.c_str(), 0600);
    if (::listen(s.get(), 16) < 0) throw_errno("listen", path);
    return s;
}

UniqueFd connect_unix(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("connect", path);
    return s;
}

UniqueFd receive_console(int sock) {
    char data[256];
    UniqueFd fd;
    if (linux::receive_message(sock, data, fd) < 0) throw_errno("receive the console");
    if (!fd) throw Error("the console socket carried no file descriptor");
    return fd;
}

void set_size(int fd, int rows, int cols) {
    if (rows <= 0 || cols <= 0) return;
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    ::ioctl(fd, TIOCSWINSZ, &ws);
}

// The TTY's output as json-file lines: one entry per line, and what is left
// of a read without a newline as an entry of its own, at once.
class TtyLog {
public:
    explicit TtyLog(const std::string& path) : fd_(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) {}
    void write(std::string_view data) {
        if (!fd_) return;
        std::string out;
        while (!data.empty()) {
            auto nl = data.find('\n');
            std::string_view piece = nl == std::string_view::npos ? data : data.substr(0, nl + 1);
            Json e = {{"log", std::string(piece)}, {"stream", "stdout"}, {"time", engine::format_rfc3339_nano(engine::now_ns())}};
            out += e.dump(-1, ' ', false, Json::error_handler_t::replace);
            out += '\n';
            data.remove_prefix(piece.size());
        }
        try {
            write_all(fd_.get(), out, "log");
        } catch (const Error&) {
        }
    }

private:
    UniqueFd fd_;
};

struct Client {
    UniqueFd fd;
    std::string line;      // the command line, until '\n'
    bool streaming = false; // after "stdin"/"stdin-once"
    bool once = false;
};

} // namespace

pid_t start_shim(const ShimSpec& s, int stdin_write) {
    make_dirs(s.control.substr(0, s.control.rfind('/')), 0700);
    UniqueFd ready_r, ready_w;
    make_pipe(ready_r, ready_w);
    SpawnOptions o;
    o.new_session = true;
    o.extra_fds.push_back({4, ready_w.get()});
    if (stdin_write >= 0) o.extra_fds.push_back({3, stdin_write});
    std::vector<std::string> argv = {"/proc/self/exe", "--shim", s.id, s.log_path.empty() ? "-" : s.log_path, s.control,
                                     s.tty ? s.console : "-", s.tty ? "1" : "0", std::to_string(s.rows),
                                     std::to_string(s.cols)};
    Spawned sp = spawn(argv, o);
    ready_w.reset();
    pollfd p{ready_r.get(), POLLIN, 0};
    std::string got;
    if (::poll(&p, 1, 10000) > 0) got = read_all(ready_r.get());
    if (got != "ok\n") {
        ::kill(sp.pid, SIGKILL);
        wait_child(sp.pid);
        throw Error("the stdio keeper for container " + s.id.substr(0, 12) + " did not start" +
                    (got.empty() ? "" : ": " + std::string(trim(got))));
    }
    // The shim reparents to init once ctld is gone; while ctld lives it is our
    // child, so reap it in the background.
    std::thread([pid = sp.pid] { wait_child(pid); }).detach();
    return sp.pid;
}

UniqueFd shim_stdin(const std::string& control, bool once) {
    UniqueFd s = connect_unix(control);
    write_all(s.get(), once ? "stdin-once\n" : "stdin\n", "shim");
    return s;
}

void shim_resize(const std::string& control, int rows, int cols) {
    UniqueFd s = connect_unix(control);
    write_all(s.get(), "resize " + std::to_string(rows) + " " + std::to_string(cols) + "\n", "shim");
    ::shutdown(s.get(), SHUT_WR);
    char c;
    (void)!::read(s.get(), &c, 1); // the shim closes once applied
}

int shim_main(int argc, char** argv) {
    if (argc != 9) return 2;
    std::string id = argv[2], log_path = argv[3], control = argv[4], console = argv[5];
    bool tty = std::string(argv[6]) == "1";
    int rows = std::atoi(argv[7]), cols = std::atoi(argv[8]);
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    ::prctl(PR_SET_NAME, "ctld-shim", 0, 0, 0);
    UniqueFd stdin_w(tty ? -1 : 3);
    if (stdin_w) ::fcntl(stdin_w.get(), F_SETFD, FD_CLOEXEC);
    UniqueFd ctl, con;
    try {
        ctl = listen_unix(control);
        if (tty) con = listen_unix(console);
    } catch (const std::exception& e) {
        std::string m = std::string(e.what()) + "\n";
        (void)!::write(4, m.data(), m.size());
        return 1;
    }
    (void)!::write(4, "ok\n", 3);
    ::close(4);
    ScopeGuard cleanup([&] {
        ::unlink(control.c_str());
        if (tty) ::unlink(console.c_str());
    });

    UniqueFd master;
    TtyLog log(tty ? log_path : "/dev/null");
    std::vector<Client> clients;
    std::string to_master; // input waiting for room in the pty
    int64_t con_deadline = engine::now_ns() + 120LL * 1000000000;
    for (;;) {
        std::vector<pollfd> p;
        p.push_back({ctl.get(), POLLIN, 0});
        if (con) p.push_back({con.get(), POLLIN, 0});
        size_t base = p.size();
        if (master) p.push_back({master.get(), static_cast<short>(POLLIN | (to_master.empty() ? 0 : POLLOUT)), 0});
        else if (stdin_w) p.push_back({stdin_w.get(), 0, 0}); // POLLERR once the container's end is closed
        size_t cbase = p.size();
        for (auto& c : clients) p.push_back({c.fd.get(), static_cast<short>(to_master.size() > (1 << 16) ? 0 : POLLIN), 0});
        int timeout = con ? 1000 : -1;
        int r = ::poll(p.data(), p.size(), timeout);
        if (r < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (con && !master && engine::now_ns() > con_deadline) return 1; // ns-run never connected
        if (p[0].revents & POLLIN) {
            int fd = ::accept4(ctl.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) clients.push_back(Client{UniqueFd(fd), "", false, false});
        }
        if (con && (p[1].revents & POLLIN)) {
            UniqueFd c(::accept4(con.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (c) {
                try {
                    master = receive_console(c.get());
                    ::fcntl(master.get(), F_SETFL, ::fcntl(master.get(), F_GETFL) | O_NONBLOCK);
                    set_size(master.get(), rows, cols);
                    con.reset();
                    ::unlink(console.c_str());
                } catch (const std::exception&) {
                }
            }
            continue; // the poll set changed
        }
        if (base < cbase) {
            short re = p[base].revents;
            if (master) {
                if (re & POLLIN) {
                    char buf[65536];
                    ssize_t n = ::read(master.get(), buf, sizeof buf);
                    if (n > 0) log.write(std::string_view(buf, static_cast<size_t>(n)));
                    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) return 0; // EIO: no slave left
                } else if (re & (POLLHUP | POLLERR)) {
                    return 0;
                }
                if ((re & POLLOUT) && !to_master.empty()) {
                    ssize_t w = ::write(master.get(), to_master.data(), to_master.size());
                    if (w > 0) to_master.erase(0, static_cast<size_t>(w));
                }
            } else if (stdin_w && (re & (POLLERR | POLLHUP))) {
                return 0;
            }
        }
        for (size_t i = 0; i < clients.size(); i++) {
            short re = p[cbase + i].revents;
            if (!re) continue;
            Client& c = clients[i];
            char buf[65536];
            ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) {
                if (c.streaming && c.once && stdin_w) stdin_w.reset(); // EOF on the container's stdin
                c.fd.reset();
                continue;
            }
            std::string_view data(buf, static_cast<size_t>(n));
            if (!c.streaming) {
                c.line.append(data);
                auto nl = c.line.find('\n');
                if (nl == std::string::npos) {
                    if (c.line.size() > 256) c.fd.reset();
                    continue;
                }
                std::string cmd = c.line.substr(0, nl);
                std::string rest = c.line.substr(nl + 1);
                c.line.clear();
                if (cmd == "stdin" || cmd == "stdin-once") {
                    c.streaming = true;
                    c.once = cmd == "stdin-once";
                    data = {};
                    if (!rest.empty()) {
                        if (master) to_master += rest;
                        else if (stdin_w) {
                            try {
                                write_all(stdin_w.get(), rest, "stdin");
                            } catch (const Error&) {
                            }
                        }
                    }
                } else if (cmd.rfind("resize ", 0) == 0) {
                    auto parts = split(cmd, ' ');
                    if (parts.size() == 3) {
                        rows = std::atoi(parts[1].c_str());
                        cols = std::atoi(parts[2].c_str());
                        if (master) set_size(master.get(), rows, cols);
                    }
                    c.fd.reset();
                } else {
                    c.fd.reset();
                }
                continue;
            }
            if (master) to_master.append(data);
            else if (stdin_w) {
                // a blocking write: a container that never reads its stdin
                // holds up only further input, nothing else the shim does
                int fl = ::fcntl(stdin_w.get(), F_GETFL);
                ::fcntl(stdin_w.get(), F_SETFL, fl & ~O_NONBLOCK);
                try {
                    write_all(stdin_w.get(), data, "stdin");
                } catch (const Error&) {
                    stdin_w.reset();
                }
            }
        }
        std::erase_if(clients, [](const Client& c) { return !c.fd; });
        if (!tty && !stdin_w) return 0; // nothing left to hold
        if (master && !to_master.empty()) {
            ssize_t w = ::write(master.get(), to_master.data(), to_master.size());
            if (w > 0) to_master.erase(0, static_cast<size_t>(w));
        }
    }
}

} // namespace ctk::api
