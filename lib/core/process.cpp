#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"

extern char** environ;

namespace ctk {

SpawnAttr::SpawnAttr(short extra_flags) {
    posix_spawnattr_init(&attr_);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr_, &none);
    posix_spawnattr_setsigdefault(&attr_, &all);
    posix_spawnattr_setflags(&attr_, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | extra_flags));
}

int exit_status(int wstatus) noexcept {
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return 255;
}

std::string self_exe_dir() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlink", "/proc/self/exe");
    std::string path(buf, static_cast<size_t>(n));
    return path.substr(0, path.rfind('/'));
}

std::vector<std::string> environment_with(const std::vector<std::string>& overrides) {
    std::vector<std::string> env;
    auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        bool replaced = false;
        for (const auto& o : overrides)
            if (key_of(o) == key_of(kv)) replaced = true;
        if (!replaced) env.push_back(std::move(kv));
    }
    // A later override of the same key wins (ToolTest passes its defaults first).
    for (size_t i = 0; i < overrides.size(); i++) {
        bool later = false;
        for (size_t j = i + 1; j < overrides.size(); j++)
            if (key_of(overrides[j]) == key_of(overrides[i])) later = true;
        if (!later) env.push_back(overrides[i]);
    }
    return env;
}

static long now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

ProcessResult run_process(const std::vector<std::string>& argv, const RunOptions& options) {
    if (argv.empty()) throw Error("run_process: empty command", ErrorKind::usage);
    UniqueFd in_r, in_w, out_r, out_w, err_r, err_w;
    if (!options.stdin_inherit && options.stdin_fd < 0) make_pipe(in_r, in_w);
    if (options.capture_stdout && options.stdout_fd < 0) make_pipe(out_r, out_w);
    if (options.capture_stderr) make_pipe(err_r, err_w);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    ScopeGuard fa_done([&] { posix_spawn_file_actions_destroy(&fa); });
    if (in_r) posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
    if (options.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, options.stdin_fd, 0);
    if (out_w) posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    if (options.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&fa, options.stdout_fd, 1);
    if (err_w) posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());

    SpawnAttr attr;

    std::vector<std::string> env_strings;
    if (options.env) env_strings = *options.env;
    else if (!options.extra_env.empty()) env_strings = environment_with(options.extra_env);
    if (options.env && !options.extra_env.empty())
        for (const auto& kv : options.extra_env) env_strings.push_back(kv);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    bool custom_env = options.env || !options.extra_env.empty();

    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    pid_t pid;
    char** envv = custom_env ? envp.data() : environ;
    int rc = options.executable.empty()
                 ? posix_spawnp(&pid, cargv[0], &fa, attr.get(), cargv.data(), envv)
                 : posix_spawn(&pid, options.executable.c_str(), &fa, attr.get(), cargv.data(), envv);
    if (rc != 0) throw_errno("execute", options.executable.empty() ? argv[0] : options.executable, rc);
    in_r.reset();
    out_w.reset();
    err_w.reset();

    ProcessResult result;
    std::string_view pending = options.input;
    if (in_w) ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
    if (in_w && pending.empty()) in_w.reset();
    long deadline = options.timeout_ms >= 0 ? now_ms() + options.timeout_ms : -1;
    while (in_w || out_r || err_r) {
        pollfd fds[3];
        int n = 0;
        if (in_w) fds[n++] = {in_w.get(), POLLOUT, 0};
        if (out_r) fds[n++] = {out_r.get(), POLLIN, 0};
        if (err_r) fds[n++] = {err_r.get(), POLLIN, 0};
        int wait = -1;
        if (deadline >= 0) {
            wait = static_cast<int>(deadline - now_ms());
            if (wait <= 0) {
                ::kill(pid, SIGKILL);
                result.timed_out = true;
                break;
            }
        }
        int r = ::poll(fds, static_cast<nfds_t>(n), wait);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        for (int i = 0; i < n; i++) {
            if (!fds[i].revents) continue;
            if (in_w && fds[i].fd == in_w.get()) {
                ssize_t w = ::write(in_w.get(), pending.data(), pending.size());
                if (w > 0) pending.remove_prefix(static_cast<size_t>(w));
                if (w < 0 && errno != EAGAIN && errno != EINTR) pending = {};
                if (pending.empty()) in_w.reset();
                continue;
            }
            UniqueFd& src = (out_r && fds[i].fd == out_r.get()) ? out_r : err_r;
            std::string& dst = (&src == &out_r) ? result.out : result.err;
            char buf[65536];
            ssize_t got = ::read(src.get(), buf, sizeof buf);
            if (got > 0) dst.append(buf, static_cast<size_t>(got));
            else if (got == 0 || (errno != EINTR && errno != EAGAIN)) src.reset();
        }
    }
    int wstatus = 0;
    for (;;) {
        if (deadline >= 0 && !result.timed_out) {
            pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
            if (w == pid) break;
            if (w < 0 && errno != EINTR) throw_errno("waitpid");
            if (now_ms() >= deadline) {
                ::kill(pid, SIGKILL);
                result.timed_out = true;
                continue;
            }
            ::usleep(1000);
            continue;
        }
        if (::waitpid(pid, &wstatus, 0) == pid) break;
        if (errno != EINTR) throw_errno("waitpid");
    }
    result.status = exit_status(wstatus);
    return result;
}

PipedProcess::PipedProcess(std::vector<std::string> argv, End end, RunOptions options) {
    UniqueFd rd, wr;
    make_pipe(rd, wr);
    if (end == End::stdin_of) {
        theirs_ = std::move(rd);
        mine_ = std::move(wr);
        options.stdin_fd = theirs_.get();
    } else {
        theirs_ = std::move(wr);
        mine_ = std::move(rd);
        options.stdout_fd = theirs_.get();
    }
    thread_ = std::thread([this, argv = std::move(argv), options = std::move(options)] {
        try {
            result_ = run_process(argv, options);
        } catch (...) {
            error_ = std::current_exception();
        }
        theirs_.reset(); // the child's end: closed once it is gone, so the caller sees EOF or EPIPE
    });
}

PipedProcess::~PipedProcess() {
    mine_.reset();
    if (thread_.joinable()) thread_.join();
}

ProcessResult PipedProcess::wait() {
    mine_.reset();
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
    return result_;
}

} // namespace ctk
