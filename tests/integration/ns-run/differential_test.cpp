// The same bundles under runc and ns-run: what the process sees must match
// (capabilities, seccomp, no_new_privs, ids, hostname, rlimits, umask, cwd,
// environment, mounts, devices, fds, oom score, namespaces).
#include <unistd.h>

#include <algorithm>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

const char* probe =
    "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; "
    "echo ids $(id); echo host $(hostname); echo umask $(umask); echo cwd $(pwd); "
    "grep -E 'open files|core file|processes' /proc/self/limits; "
    "echo oom $(cat /proc/self/oom_score_adj); "
    "for n in ipc mnt net pid uts cgroup user; do echo ns $n $([ \"$(readlink /proc/self/ns/$n)\" = "
    "\"$(readlink /proc/1/ns/$n)\" ] && echo same-as-1); done; "
    // ls's own fds (inherited from the shell, plus its directory fd 3): the
    // shell's own list can show the write end of $(...)'s pipe, which busybox
    // sh closes only after the fork.
    "echo fds $(ls /proc/self/fd); "
    "env | sort; "
    "for d in /dev/* /dev/pts/ptmx; do stat -c 'dev %n %F %a %t:%T' $d; done; "
    "while read -r id parent dev root mp opts rest; do fs=${rest#*- }; echo \"mnt $mp ${fs%% *} $opts\"; "
    "done < /proc/self/mountinfo | sort; "
    "cat /proc/sys/net/ipv4/ip_forward; "
    "cat /proc/timer_list | wc -c; touch /proc/sysrq-trigger 2>&1 | grep -c Read-only; true";

class Differential : public NsRunTest {
protected:
    ToolResult under_runc(const Json& config) {
        std::string id = new_id();
        std::string root = tmp() + "/runc-state";
        defer([this, id, root] { run_command({"runc", "--root", root, "delete", "--force", id}); });
        return run_command({"runc", "--root", root, "run", "--bundle", bundle(config), id});
    }
    // The two known differences, both on this hybrid cgroup host: runc 1.1
    // leaves the /sys/fs/cgroup tmpfs writable under a "ro" cgroup mount
    // (ns-run makes it read-only, as the option says), and it does not show
    // the cgroup2 hierarchy of the hybrid layout (ns-run binds the
    // container's own unified cgroup at /sys/fs/cgroup/unified).
    static std::string normalise(const std::string& out) {
        std::string res;
        for (const auto& l : split(out, '\n')) {
            if (l.rfind("mnt /sys/fs/cgroup/unified ", 0) == 0) continue;
            res += (l.rfind("mnt /sys/fs/cgroup tmpfs ", 0) == 0 ? "mnt /sys/fs/cgroup tmpfs" : l) + "\n";
        }
        return res;
    }
    void compare(const Json& config) {
        auto theirs = under_runc(config);
        auto ours = run_container(config);
        ASSERT_EQ(theirs.status, 0) << "runc: " << theirs;
        ASSERT_EQ(ours.status, 0) << "ns-run: " << ours;
        theirs.out = normalise(theirs.out);
        ours.out = normalise(ours.out);
        // Line by line, each side's lines the other lacks.
        auto a = split(theirs.out, '\n'), b = split(ours.out, '\n');
        std::string only_runc, only_ns_run;
        for (const auto& l : a)
            if (std::find(b.begin(), b.end(), l) == b.end()) only_runc += "  " + l + "\n";
        for (const auto& l : b)
            if (std::find(a.begin(), a.end(), l) == a.end()) only_ns_run += "  " + l + "\n";
        EXPECT_EQ(only_runc + only_ns_run, "") << "only under runc:\n" << only_runc << "only under ns-run:\n"
                                                << only_ns_run;
        EXPECT_EQ(theirs.out, ours.out) << "the same lines in another order";
    }
};

Json hardened(Json c) {
    c["hostname"] = "diff";
    c["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 077}};
    c["process"]["cwd"] = "/etc";
    c["process"]["env"].push_back("EXTRA=1");
    c["process"]["oomScoreAdj"] = 123;
    c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 512}, {"hard", 1024}},
                               {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}},
                               {{"type", "RLIMIT_NPROC"}, {"soft", 100}, {"hard", 200}}};
    c["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL"}},
                                    {"effective", {"CAP_NET_BIND_SERVICE"}},
                                    {"permitted", {"CAP_NET_BIND_SERVICE"}},
                                    {"inheritable", {"CAP_NET_BIND_SERVICE"}},
                                    {"ambient", {"CAP_NET_BIND_SERVICE"}}};
    c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
    c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                             {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
                             {"syscalls", {{{"names", {"kexec_load", "reboot", "swapon"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
    return c;
}

} // namespace

TEST_F(Differential, RuncSpecDefaults) { compare(shell_config(probe)); }

TEST_F(Differential, HardenedProcess) { compare(hardened(shell_config(probe))); }

TEST_F(Differential, SharedNamespacesAndWritableRoot) {
    Json c = shell_config(probe);
    c["root"]["readonly"] = false;
    c["root"]["path"] = copy_rootfs();
    auto& list = c["linux"]["namespaces"];
    for (size_t i = list.size(); i-- > 0;)
        if (list[i]["type"] == "network" || list[i]["type"] == "ipc") list.erase(i);
    c["linux"]["sysctl"] = Json::object();
    compare(c);
}
