// Containers through ctl, as a user types the commands: run, the detached life
// cycle, exec, exit codes, failure paths.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlContainers : public CtlTest {
protected:
    void SetUp() override {
        CtlTest::SetUp();
        if (::geteuid() == 0) load_tiny();
    }
    std::string state(const std::string& c) {
        return std::string(trim(ctl({"inspect", "-f", "{{.State.Status}}", c}).out));
    }
    void wait_for(const std::function<bool()>& cond) {
        for (int i = 0; i < 100 && !cond(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
};
} // namespace

TEST_F(CtlContainers, RunPrintsOutputAndReturnsTheExitStatus) {
    CTK_REQUIRE_ROOT();
    auto r = ctl({"run", "--rm", "--network", "none", tiny(), "echo", "hello", "world"});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "hello world\n");
    r = ctl({"run", "--rm", "--network", "none", tiny(), "sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(without_runtime_warnings(r.err), "err\n");
    // -i passes stdin; without it the container reads /dev/null
    r = ctl({"run", "--rm", "-i", "--network", "none", tiny(), "cat"}, "piped in\n");
    EXPECT_EQ(r.out, "piped in\n") << r;
    r = ctl({"run", "--rm", "--network", "none", tiny(), "cat"}, "not for it\n");
    EXPECT_EQ(r.out, "") << r;
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "") << "--rm left a container";
}

TEST_F(CtlContainers, DockerExitCodes) {
    CTK_REQUIRE_ROOT();
    auto r = ctl({"run", "--rm", "--network", "none", tiny(), "/no/such/command"});
    EXPECT_EQ(r.status, 127) << r;
    r = ctl({"run", "--rm", "--network", "none", tiny(), "/etc/passwd"});
    EXPECT_EQ(r.status, 126) << r;
    r = ctl({"run", "--rm", "--network", "none", registry() + "/nosuch:latest", "true"});
    EXPECT_EQ(r.status, 125) << r;
    r = ctl({"run", "--bogus-flag", tiny()});
    EXPECT_EQ(r.status, 125) << r;
    // (under --init: a pid 1 cannot be killed from inside its namespace)
    r = ctl({"run", "--rm", "--init", "--network", "none", tiny(), "sh", "-c", "kill -9 $$"});
    EXPECT_EQ(r.status, 137) << r;
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
}

TEST_F(CtlContainers, DetachedLifeCycle) {
    CTK_REQUIRE_ROOT();
    auto r = ctl({"run", "-d", "--name", "w1", "--network", "none", tiny(), "sh", "-c",
                  "echo started; echo warn >&2; exec sleep 1000"});
    ASSERT_EQ(r.status, 0) << r;
    std::string id(trim(r.out));
    EXPECT_EQ(id.size(), 64u);
    // another ctl process sees it
    auto ps = ctl({"ps", "--format", "{{.ID}} {{.Names}} {{.State}} {{.Command}}"});
    EXPECT_EQ(ps.out, id.substr(0, 12) + " w1 running \"sh -c 'echo started…\"\n") << ps;
    wait_for([&] { return ctl({"logs", "w1"}).out == "started\n"; });
    auto logs = ctl({"logs", "w1"});
    EXPECT_EQ(logs.out, "started\n");
    EXPECT_EQ(logs.err, "warn\n");
    auto tail = ctl({"logs", "--tail", "1", "--timestamps", "w1"});
    EXPECT_NE((tail.out + tail.err).find("Z "), std::string::npos) << tail;
    EXPECT_EQ(split(tail.out + tail.err, '\n').size(), 2u) << tail;
    auto insp = ctl({"inspect", id.substr(0, 12)});
    ASSERT_EQ(insp.status, 0) << insp;
    Json j = insp.json()[0];
    EXPECT_EQ(j["Id"], id);
    EXPECT_EQ(j["Name"], "/w1");
    EXPECT_EQ(j["State"]["Running"], true);
    EXPECT_GT(j["State"]["Pid"].get<int>(), 0);
    EXPECT_EQ(j["Config"]["Cmd"][0], "sh");
    EXPECT_EQ(j["Path"], "sh");
    EXPECT_EQ(j["HostConfig"]["NetworkMode"], "none");
    // rm of a running container is refused, stop then works
    auto rm = ctl({"rm", "w1"});
    EXPECT_EQ(rm.status, 1) << rm;
    EXPECT_NE(rm.err.find("You cannot remove a running container"), std::string::npos) << rm.err;
    auto stop = ctl({"stop", "-t", "1", "w1"});
    EXPECT_EQ(stop.status, 0) << stop;
    EXPECT_EQ(stop.out, "w1\n");
    EXPECT_EQ(state("w1"), "exited");
    auto psa = ctl({"ps", "-a", "--format", "{{.Status}}"});
    EXPECT_EQ(psa.out.rfind("Exited (137) ", 0), 0u) << psa.out;
    EXPECT_EQ(ctl({"ps", "-q"}).out, "");
    // start again, restart, kill with a signal, wait
    ASSERT_EQ(ctl({"start", "w1"}).status, 0);
    EXPECT_EQ(state("w1"), "running");
    ASSERT_EQ(ctl({"restart", "-t", "0", "w1"}).status, 0);
    EXPECT_EQ(state("w1"), "running");
    ASSERT_EQ(ctl({"kill", "w1"}).status, 0);
    auto w = ctl({"wait", "w1"});
    EXPECT_EQ(w.out, "137\n") << w;
    EXPECT_EQ(ctl({"kill", "w1"}).status, 1) << "kill of a stopped container";
    EXPECT_EQ(ctl({"rm", "w1"}).status, 0);
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
    EXPECT_EQ(ctl({"inspect", "w1"}).status, 1);
}

TEST_F(CtlContainers, AContainerWhoseMonitorWasKilledShowsAnUnknownExit) {
    CTK_REQUIRE_ROOT();
    auto r = ctl({"run", "-d", "--name", "lost", "--network", "none", tiny(), "sleep", "1000"});
    ASSERT_EQ(r.status, 0) << r;
    std::string id(trim(r.out));
    Json state = parse_json(read_file(ctk_run() + "/runtime/" + id + "/state.json"), "state.json");
    pid_t monitor = state["monitorPid"].get<pid_t>(), pid = state["pid"].get<pid_t>();
    ASSERT_GT(monitor, 0) << state;
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    wait_for([&] { return ::kill(monitor, 0) != 0; });
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    wait_for([&] { return trim(ctl({"inspect", "-f", "{{.State.Status}}", "lost"}).out) == "exited"; });
    // nobody saw how it ended: docker's 255 ("shim lost"), never a clean 0
    EXPECT_EQ(ctl({"inspect", "-f", "{{.State.ExitCode}}", "lost"}).out, "255\n");
    EXPECT_EQ(ctl({"wait", "lost"}).out, "255\n");
    EXPECT_EQ(ctl({"rm", "lost"}).status, 0);
}

TEST_F(CtlContainers, ForegroundRunKeepsItsRecordAndLog) {
    CTK_REQUIRE_ROOT();
    auto r = ctl({"run", "--name", "fg", "--network", "none", tiny(), "sh", "-c", "echo kept; exit 4"});
    EXPECT_EQ(r.status, 4) << r;
    EXPECT_EQ(ctl({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "fg"}).out, "exited 4\n");
    EXPECT_EQ(ctl({"logs", "fg"}).out, "kept\n");
    EXPECT_EQ(ctl({"start", "-a", "fg"}).status, 4);
    EXPECT_EQ(ctl({"logs", "fg"}).out, "kept\nkept\n");
}

TEST_F(CtlContainers, CreateStartAttachAndNames) {
    CTK_REQUIRE_ROOT();
    auto c = ctl({"create", "--name", "made", "--network", "none", tiny(), "echo", "from create"});
    ASSERT_EQ(c.status, 0) << c;
    EXPECT_EQ(state("made"), "created");
    auto dup = ctl({"create", "--name", "made", "--network", "none", tiny(), "true"});
    EXPECT_EQ(dup.status, 125) << dup;
    EXPECT_NE(dup.err.find("is already in use by container"), std::string::npos) << dup.err;
    auto s = ctl({"start", "-a", "made"});
    EXPECT_EQ(s.status, 0) << s;
    EXPECT_EQ(s.out, "from create\n");
    auto bad = ctl({"create", "--name", "x", tiny(), "true"});
    EXPECT_EQ(bad.status, 125) << bad;
    EXPECT_NE(bad.err.find("Invalid container name (x)"), std::string::npos) << bad.err;
    ASSERT_EQ(ctl({"rename", "made", "renamed"}).status, 0);
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}}"}).out, "renamed\n");
    // a generated name is adjective_surname
    auto g = ctl({"create", "--network", "none", tiny(), "true"});
    ASSERT_EQ(g.status, 0) << g;
    std::string name = std::string(trim(ctl({"inspect", "-f", "{{.Name}}", std::string(trim(g.out))}).out));
    EXPECT_NE(name.find('_'), std::string::npos) << name;
}

TEST_F(CtlContainers, ExecPauseTopCp) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "box", "--network", "none", tiny(), "sleep", "1000"}).status, 0);
    auto e = ctl({"exec", "box", "sh", "-c", "echo $X in $(pwd); exit 5"});
    EXPECT_EQ(e.status, 5) << e;
    EXPECT_EQ(e.out, "in /\n");
    e = ctl({"exec", "-e", "X=1", "-w", "/etc", "box", "sh", "-c", "echo $X in $(pwd)"});
    EXPECT_EQ(e.out, "1 in /etc\n") << e;
    e = ctl({"exec", "-u", "nobody", "box", "id", "-u"});
    EXPECT_EQ(e.out, "65534\n") << e;
    e = ctl({"exec", "-i", "box", "cat"}, "through exec\n");
    EXPECT_EQ(e.out, "through exec\n") << e;
    auto top = ctl({"top", "box"});
    EXPECT_EQ(top.status, 0) << top;
    EXPECT_NE(top.out.find("sleep 1000"), std::string::npos) << top.out;
    EXPECT_NE(top.out.find("PID"), std::string::npos) << top.out;
    ASSERT_EQ(ctl({"pause", "box"}).status, 0);
    EXPECT_EQ(state("box"), "paused");
    EXPECT_NE(ctl({"ps", "--format", "{{.Status}}"}).out.find("(Paused)"), std::string::npos);
    auto pe = ctl({"exec", "box", "true"});
    EXPECT_EQ(pe.status, 125);
    EXPECT_NE(pe.err.find("is paused"), std::string::npos) << pe.err;
    ASSERT_EQ(ctl({"unpause", "box"}).status, 0);
    EXPECT_EQ(state("box"), "running");
    // cp in and out
    write_file_atomic(tmp() + "/in.txt", "copied in\n");
    ASSERT_EQ(ctl({"cp", tmp() + "/in.txt", "box:/tmp/in.txt"}).status, 0);
    EXPECT_EQ(ctl({"exec", "box", "cat", "/tmp/in.txt"}).out, "copied in\n");
    ASSERT_EQ(ctl({"exec", "box", "sh", "-c", "mkdir -p /d/e && echo deep > /d/e/f"}).status, 0);
    auto out = ctl({"cp", "box:/d", tmp() + "/out"});
    ASSERT_EQ(out.status, 0) << out;
    EXPECT_EQ(read_file(tmp() + "/out/e/f"), "deep\n");
    auto missing = ctl({"cp", "box:/nonexistent", tmp() + "/x"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("Could not find the file /nonexistent in container box"), std::string::npos) << missing.err;
    // a symlink in the container cannot point cp at the host
    ASSERT_EQ(ctl({"exec", "box", "ln", "-s", "/", "/tmp/escape"}).status, 0);
    ASSERT_EQ(ctl({"cp", tmp() + "/in.txt", "box:/tmp/escape/ctk-cp-test"}).status, 0);
    EXPECT_NE(::access("/ctk-cp-test", F_OK), 0) << "cp followed a container symlink to the host";
    EXPECT_EQ(ctl({"exec", "box", "cat", "/ctk-cp-test"}).out, "copied in\n");
}

TEST_F(CtlContainers, InitForwardsSignalsAsPidOne) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--init", "--name", "i1", "--network", "none", tiny(), "sleep", "1000"}).status, 0);
    auto comm = ctl({"exec", "i1", "cat", "/proc/1/comm"});
    EXPECT_NE(comm.out, "sleep\n") << "pid 1 should be the init, not the program";
    // sleep as pid 1 would ignore SIGTERM; under the init it dies of it
    ASSERT_EQ(ctl({"kill", "-s", "TERM", "i1"}).status, 0);
    EXPECT_EQ(ctl({"wait", "i1"}).out, "143\n");
}

// Issue 18 item 6: names are reserved in $CTK_ROOT/names (NAME -> ID symlinks),
// one atomic symlink(2) deciding between concurrent creators; stale entries,
// renames, removals, the --explain script and a store without the index.
TEST_F(CtlContainers, NamesAreReservedOnceInTheNameIndex) {
    CTK_REQUIRE_ROOT();
    std::string ctl_bin = tool_path("ctl");
    auto race = [&](const std::string& verb_args) {
        auto r = sh("(" + ctl_bin + " " + verb_args + " >" + tmp() + "/a.out 2>&1; echo $? >" + tmp() + "/a.rc) & (" +
                    ctl_bin + " " + verb_args + " >" + tmp() + "/b.out 2>&1; echo $? >" + tmp() + "/b.rc) & wait");
        EXPECT_EQ(r.status, 0) << r;
        std::string a = std::string(trim(read_file(tmp() + "/a.rc"))), b = std::string(trim(read_file(tmp() + "/b.rc")));
        std::string lost = a == "0" ? read_file(tmp() + "/b.out") : read_file(tmp() + "/a.out");
        EXPECT_TRUE((a == "0" && b == "125") || (a == "125" && b == "0")) << a << " " << b << lost;
        EXPECT_NE(lost.find("Conflict. The container name \"/"), std::string::npos) << lost;
        EXPECT_NE(lost.find("is already in use by container"), std::string::npos) << lost;
    };
    race("create --name twin --network none " + tiny() + " true");
    race("run -d --name runner --network none " + tiny() + " sleep 100");
    std::string twin = std::string(trim(ctl({"inspect", "-f", "{{.Id}}", "twin"}).out));
    ASSERT_EQ(twin.size(), 64u);
    std::string names = ctk_root() + "/names";
    EXPECT_EQ(read_link(names + "/twin"), twin);
    EXPECT_EQ(ctl({"ps", "-a", "-q", "--no-trunc", "--filter", "name=^twin$"}).out, twin + "\n");

    // stale links: a container gone without ctl, and a name its container no longer has
    ASSERT_EQ(::symlink(std::string(64, 'a').c_str(), (names + "/ghost").c_str()), 0);
    ASSERT_EQ(::symlink(twin.c_str(), (names + "/formerly").c_str()), 0);
    EXPECT_NE(ctl({"inspect", "ghost"}).status, 0);
    EXPECT_NE(ctl({"inspect", "formerly"}).status, 0);
    for (std::string n : {"ghost", "formerly"}) {
        auto c = ctl({"create", "--name", n, "--network", "none", tiny(), "true"});
        ASSERT_EQ(c.status, 0) << c;
        EXPECT_EQ(read_link(names + "/" + n), std::string(trim(c.out)));
    }

    // rename frees the old name, rm frees the name
    ASSERT_EQ(ctl({"rename", "twin", "twin2"}).status, 0);
    EXPECT_EQ(read_link(names + "/twin"), "");
    EXPECT_EQ(read_link(names + "/twin2"), twin);
    ASSERT_EQ(ctl({"create", "--name", "twin", "--network", "none", tiny(), "true"}).status, 0);
    ASSERT_EQ(ctl({"rm", "twin2"}).status, 0);
    EXPECT_EQ(read_link(names + "/twin2"), "");
    ASSERT_EQ(ctl({"create", "--name", "twin2", "--network", "none", tiny(), "true"}).status, 0);

    // the --explain script reserves the name as the verb does
    auto script = ctl({"--explain", "create", "--name", "explained", "--network", "none", tiny(), "true"});
    ASSERT_EQ(script.status, 0) << script;
    EXPECT_NE(script.out.find("ln -s "), std::string::npos) << script.out;
    write_file_atomic(tmp() + "/create.sh", script.out);
    auto ran = sh("sh " + tmp() + "/create.sh");
    ASSERT_EQ(ran.status, 0) << ran << script.out;
    std::string explained = std::string(trim(ctl({"inspect", "-f", "{{.Id}}", "explained"}).out));
    EXPECT_EQ(read_link(names + "/explained"), explained);
    auto dup = ctl({"create", "--name", "explained", "--network", "none", tiny(), "true"});
    EXPECT_EQ(dup.status, 125) << dup;
    EXPECT_NE(dup.err.find("is already in use by container \"" + explained + "\""), std::string::npos) << dup.err;
    // a script whose name is taken stops at ln -s and removes what it made
    auto taken = ctl({"--explain", "create", "--name", "twin", "--network", "none", tiny(), "true"});
    write_file_atomic(tmp() + "/taken.sh", taken.out);
    EXPECT_NE(sh("sh " + tmp() + "/taken.sh").status, 0);
    EXPECT_EQ(ctl({"ps", "-a", "-q"}).out.size(), 6u * 13);

    // a store of an older build has no index: names are found in the records,
    // and the first create builds the index whole
    remove_tree(names);
    EXPECT_EQ(std::string(trim(ctl({"inspect", "-f", "{{.Id}}", "twin2"}).out)).size(), 64u);
    auto again = ctl({"create", "--name", "explained", "--network", "none", tiny(), "true"});
    EXPECT_EQ(again.status, 125) << again;
    EXPECT_EQ(read_link(names + "/explained"), explained);
    EXPECT_EQ(read_link(names + "/twin"), std::string(trim(ctl({"inspect", "-f", "{{.Id}}", "twin"}).out)));
    EXPECT_EQ(ctl({"rm", "-f", "runner"}).status, 0);
}
