// NOTIFY_SOCKET (systemd's Type=notify) through ns-run, as runc passes it: the
// container gets /run/notify/notify.sock, its READY=1 reaches the socket ns-run
// was given, with MAINPID = the container's process (run -d, start) or ns-run
// (foreground run), and a BARRIER=1 before a detaching verb exits.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

// What systemd would be: a datagram socket that records each message with the
// sender's pid and closes the fds passed (BARRIER=1's pipe: its acknowledgement).
class Manager {
public:
    explicit Manager(const std::string& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a {};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
        int on = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        timeval tv {0, 100000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        thread_ = std::thread([this] { loop(); });
    }
    ~Manager() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    struct Message {
        std::string text;
        pid_t sender = 0;
    };
    std::vector<Message> messages() {
        std::lock_guard<std::mutex> g(m_);
        return messages_;
    }

private:
    void loop() {
        while (!stop_) {
            char buf[4096];
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(16 * sizeof(int))];
            iovec iov {buf, sizeof buf};
            msghdr msg {};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            ssize_t n = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
            if (n < 0) continue;
            Message got {std::string(buf, static_cast<size_t>(n)), 0};
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != SOL_SOCKET) continue;
                if (c->cmsg_type == SCM_CREDENTIALS) {
                    ucred cred;
                    std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
                    got.sender = cred.pid;
                } else if (c->cmsg_type == SCM_RIGHTS) {
                    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                    for (size_t i = 0; i < count; i++) {
                        int passed;
                        std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
                        ::close(passed);
                    }
                }
            }
            std::lock_guard<std::mutex> g(m_);
            messages_.push_back(got);
        }
    }
    std::string path_;
    int fd_ = -1;
    std::atomic<bool> stop_ {false};
    std::mutex m_;
    std::vector<Message> messages_;
    std::thread thread_;
};

class Notify : public NsRunTest {
protected:
    void SetUp() override {
        NsRunTest::SetUp();
        socket_ = tmp() + "/notify.sock";
        manager_ = std::make_unique<Manager>(socket_);
    }
    void TearDown() override {
        manager_.reset();
        NsRunTest::TearDown();
    }
    static std::string helper() { return build_dir() + "/tests/integration/ns-run/sd-notify"; }
    // A config whose rootfs (a copy) has the static sd-notify at /bin/sd-notify.
    Json notify_config(const std::string& script) {
        std::string rootfs = copy_rootfs();
        auto r = run_process({"cp", helper(), rootfs + "/bin/sd-notify"});
        EXPECT_TRUE(r.ok()) << r.err;
        Json c = shell_config(script);
        c["root"]["path"] = rootfs;
        return c;
    }
    // ns-run ARGS with NOTIFY_SOCKET and stdio on files (a detached container
    // would hold pipes open).
    ToolResult ns_notify(const std::vector<std::string>& args) {
        std::string out = tmp() + "/notify.out", err = tmp() + "/notify.err";
        std::vector<std::string> argv = {"sh", "-c", "exec \"$@\" </dev/null >" + out + " 2>" + err, "sh",
                                         tool_path("ns-run"), "--root", state_root()};
        argv.insert(argv.end(), args.begin(), args.end());
        ToolResult r = run_command(argv, "", {"NOTIFY_SOCKET=" + socket_});
        r.out = read_file_if_exists(out).value_or("");
        r.err = read_file_if_exists(err).value_or("");
        return r;
    }
    std::string socket_;
    std::unique_ptr<Manager> manager_;
};

std::string texts(const std::vector<Manager::Message>& ms) {
    std::string all;
    for (const auto& m : ms) all += "[" + m.text + "]";
    return all;
}

} // namespace

TEST_F(Notify, RunDetachedReturnsAfterReadyWithTheContainersPidAsMainPid) {
    std::string id = new_id();
    delete_at_end(id);
    // READY comes late: run -d must wait for it before it exits.
    auto r = ns_notify({"run", "-d", "--bundle", bundle(notify_config("sleep 1; exec sd-notify READY=1 sleep 100")), id});
    ASSERT_EQ(r.status, 0) << r;
    auto ms = manager_->messages();
    ASSERT_GE(ms.size(), 2u) << "run -d returned before relaying READY: " << texts(ms);
    Json st = state(id);
    EXPECT_EQ(st.value("status", ""), "running");
    EXPECT_EQ(ms[0].text, "READY=1\nMAINPID=" + std::to_string(st.value("pid", 0)) + "\n");
    EXPECT_EQ(ms[1].text, "BARRIER=1");
}

TEST_F(Notify, ContainerSeesItsOwnSocketReadOnly) {
    std::string id = new_id();
    delete_at_end(id);
    auto r = ns_notify({"run", "--bundle",
                        bundle(notify_config("echo \"$NOTIFY_SOCKET\"; ls -l /run/notify/notify.sock; "
                                             "grep ' /run/notify ' /proc/self/mountinfo | cut -d' ' -f6")),
                        id});
    ASSERT_EQ(r.status, 0) << r;
    auto lines = split(r.out, '\n');
    ASSERT_GE(lines.size(), 3u) << r;
    EXPECT_EQ(lines[0], "/run/notify/notify.sock");
    EXPECT_EQ(lines[1].substr(0, 10), "srwxrwxrwx") << r;
    EXPECT_NE(r.out.find("ro,nosuid,nodev,noexec"), std::string::npos) << r;
    EXPECT_TRUE(manager_->messages().empty()) << texts(manager_->messages());
}

TEST_F(Notify, ForegroundRunRelaysWithItsOwnPidAsMainPid) {
    std::string id = new_id();
    delete_at_end(id);
    // The container's own MAINPID means nothing outside it: dropped; STATUS goes along.
    auto r = ns_notify({"run", "--bundle",
                        bundle(notify_config("sd-notify \"$(printf 'READY=1\\nSTATUS=serving\\nMAINPID=1')\"; "
                                             "sleep 0.2; echo done")),
                        id});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "done\n");
    auto ms = manager_->messages();
    ASSERT_EQ(ms.size(), 1u) << texts(ms);
    // ns-run stays in the foreground: it is the main process, and the sender.
    EXPECT_EQ(ms[0].text, "READY=1\nSTATUS=serving\nMAINPID=" + std::to_string(ms[0].sender) + "\n");
}

TEST_F(Notify, CreateThenStartRelaysAtStart) {
    std::string id = new_id();
    delete_at_end(id);
    auto r = ns_notify({"create", "--bundle", bundle(notify_config("exec sd-notify READY=1 sleep 100")), id});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_TRUE(manager_->messages().empty());
    r = ns_notify({"start", id});
    ASSERT_EQ(r.status, 0) << r;
    auto ms = manager_->messages();
    ASSERT_GE(ms.size(), 1u) << "start returned before relaying READY";
    EXPECT_EQ(ms[0].text, "READY=1\nMAINPID=" + std::to_string(state(id).value("pid", 0)) + "\n");
}

TEST_F(Notify, ContainerThatExitsWithoutReadyDoesNotHangRunDetached) {
    std::string id = new_id();
    delete_at_end(id);
    auto r = ns_notify({"run", "-d", "--bundle", bundle(notify_config("exit 0")), id});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_NE(r.err.find("exited before it sent READY=1"), std::string::npos) << r;
    EXPECT_TRUE(manager_->messages().empty()) << texts(manager_->messages());
}

TEST_F(Notify, WithoutNotifySocketNothingIsMounted) {
    auto r = run_container(shell_config("echo \"[$NOTIFY_SOCKET]\"; test -e /run/notify && echo mounted; true"));
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "[]\n");
}
