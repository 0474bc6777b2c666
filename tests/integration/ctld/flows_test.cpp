// The docker CLI's flows against ctld, one test per flow of the reference
// recordings (../shared/reference/docker-api/NN-*.txt): what a user types and
// what they must see.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "api/spawn.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

class Flows : public CtldTest {};

int free_tcp_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

// GET / on 127.0.0.1:port, retried while the server starts.
std::string http_get(int port) {
    for (int i = 0; i < 50; i++) {
        UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        timeval tv{2, 0};
        ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
            std::string req = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
            (void)!::write(s.get(), req.data(), req.size());
            std::string out;
            char buf[4096];
            ssize_t n;
            while ((n = ::read(s.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
            if (!out.empty()) return out;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
}

TEST_F(Flows, VersionAndInfoNegotiate141) {
    auto v = docker({"version"});
    ASSERT_EQ(v.status, 0) << v;
    EXPECT_NE(v.out.find("API version:       1.41 (downgraded from"), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("1.41 (minimum version 1.12)"), std::string::npos) << v.out;
    auto i = docker({"info", "--format", "{{.Containers}} {{.Images}} {{.OSType}} {{.Swarm.LocalNodeState}}"});
    ASSERT_EQ(i.status, 0) << i;
    EXPECT_EQ(i.out, "0 0 linux inactive\n");
}

TEST_F(Flows, PullTagImagesInspectRmi) {
    std::string ref = registry() + "/tiny:latest";
    auto p = docker({"pull", ref});
    ASSERT_EQ(p.status, 0) << p;
    EXPECT_NE(p.out.find("latest: Pulling from tiny"), std::string::npos) << p.out;
    EXPECT_NE(p.out.find("Status: Downloaded newer image for " + ref), std::string::npos) << p.out;
    auto again = docker({"pull", ref});
    EXPECT_NE(again.out.find("Status: Image is up to date for " + ref), std::string::npos) << again.out;
    ASSERT_EQ(docker({"tag", ref, "tiny:latest"}).status, 0);
    auto images = docker({"images", "--format", "{{.Repository}}:{{.Tag}}"});
    EXPECT_NE(images.out.find(registry() + "/tiny:latest"), std::string::npos) << images.out;
    EXPECT_NE(images.out.find("tiny:latest\n"), std::string::npos) << images.out;
    auto inspect = docker({"image", "inspect", "-f", "{{.Os}} {{json .Config.Cmd}}", "tiny"});
    EXPECT_EQ(inspect.out, "linux [\"sh\"]\n") << inspect;
    auto hist = docker({"history", "tiny"});
    EXPECT_EQ(hist.status, 0) << hist;
    auto rmi = docker({"rmi", ref, "tiny"});
    ASSERT_EQ(rmi.status, 0) << rmi;
    EXPECT_NE(rmi.out.find("Untagged: " + ref), std::string::npos);
    EXPECT_NE(rmi.out.find("Deleted: sha256:"), std::string::npos) << rmi.out;
    EXPECT_EQ(docker({"images", "-q"}).out, "");
    auto missing = docker({"pull", registry() + "/nosuch"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("Error response from daemon"), std::string::npos) << missing;
}

// docker save, load, import and tag through ctld run img-pack, as ctl does
// over the same store: the daemon's archive lists what ctl's lists, a load
// gives the image back under its name and ID, an import runs.
TEST_F(Flows, SaveLoadImportAndTagAreImgPacksOnBothFaces) {
    tiny();
    auto id_of = [&](const std::string& ref) {
        return std::string(trim(docker({"image", "inspect", "-f", "{{.Id}}", ref}).out));
    };
    std::string id = id_of("tiny");
    ASSERT_EQ(id.rfind("sha256:", 0), 0u) << id;
    auto saved = docker({"save", "-o", tmp() + "/d.tar", "tiny"});
    ASSERT_EQ(saved.status, 0) << saved << daemon_log();
    ASSERT_EQ(ctl({"save", "-o", tmp() + "/c.tar", "tiny"}).status, 0);
    auto list = [&](const std::string& f) { return run_command({"sh", "-c", "tar -tf " + f + " | sort"}).out; };
    EXPECT_NE(list(tmp() + "/d.tar").find("manifest.json"), std::string::npos) << list(tmp() + "/d.tar");
    EXPECT_EQ(list(tmp() + "/d.tar"), list(tmp() + "/c.tar"));
    ASSERT_EQ(docker({"rmi", "tiny", registry() + "/tiny:latest"}).status, 0);
    EXPECT_EQ(docker({"images", "-q"}).out, "");
    auto loaded = docker({"load", "-i", tmp() + "/d.tar"});
    ASSERT_EQ(loaded.status, 0) << loaded << daemon_log();
    EXPECT_EQ(loaded.out, "Loaded image: tiny:latest\n");
    EXPECT_EQ(id_of("tiny"), id);
    auto bad = docker({"load"}, "this is not a tar archive");
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.err.find("Error response from daemon"), std::string::npos) << bad;

    ASSERT_EQ(run_command({"tar", "-C", "/", "-cf", tmp() + "/rootfs.tar", "bin/busybox"}).status, 0);
    auto imported = docker({"import", "-c", "CMD [\"/bin/busybox\", \"echo\", \"imported\"]", tmp() + "/rootfs.tar", "imp:1"});
    ASSERT_EQ(imported.status, 0) << imported << daemon_log();
    EXPECT_EQ(imported.out.rfind("sha256:", 0), 0u) << imported.out;
    auto ran = docker({"run", "--rm", "--network", "none", "imp:1"});
    EXPECT_EQ(ran.out, "imported\n") << ran;
    ASSERT_EQ(docker({"tag", "imp:1", "imp:2"}).status, 0);
    EXPECT_EQ(ctl({"images", "--format", "{{.Repository}}:{{.Tag}}", "imp"}).out, "imp:1\nimp:2\n");
}

TEST_F(Flows, RunRmPrintsAndRemoves) {
    tiny();
    auto r = docker({"run", "--rm", "tiny", "echo", "hi"});
    ASSERT_EQ(r.status, 0) << r << daemon_log();
    EXPECT_EQ(r.out, "hi\n");
    EXPECT_EQ(docker({"ps", "-aq"}).out, "");
}

TEST_F(Flows, RunStdinAndExitCodes) {
    tiny();
    auto cat = docker({"run", "--rm", "-i", "tiny", "cat"}, "hello-stdin\n");
    EXPECT_EQ(cat.status, 0) << cat;
    EXPECT_EQ(cat.out, "hello-stdin\n");
    auto r = docker({"run", "--rm", "tiny", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.out, "to-stdout\n");
    EXPECT_EQ(r.err, "to-stderr\n");
    auto big = docker({"run", "--rm", "-i", "tiny", "wc", "-c"}, std::string(300000, 'x'));
    EXPECT_EQ(trim(big.out), "300000") << big;
    auto missing = docker({"run", "--rm", "tiny", "/no/such/program"});
    EXPECT_EQ(missing.status, 127) << missing;
    EXPECT_EQ(docker({"ps", "-aq"}).out, "") << "--rm removes a container that could not start";
}

TEST_F(Flows, CreateStartAttachRm) {
    tiny();
    auto c = docker({"create", "--name", "ca", "tiny", "echo", "created-then-started"});
    ASSERT_EQ(c.status, 0) << c;
    EXPECT_EQ(trim(c.out).size(), 64u);
    auto s = docker({"start", "-a", "ca"});
    EXPECT_EQ(s.status, 0) << s;
    EXPECT_EQ(s.out, "created-then-started\n");
    auto again = docker({"start", "-a", "ca"});
    EXPECT_EQ(again.out, "created-then-started\n") << again;
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ca"}).out, "exited 0\n");
    EXPECT_EQ(docker({"rm", "ca"}).out, "ca\n");
}

TEST_F(Flows, TerminalRunAndExecWithResize) {
    tiny();
    if (!have_program("script")) GTEST_SKIP() << "script(1) missing";
    auto r = sh("script -qec \"stty rows 40 cols 120; docker run -it --rm --name ttyc tiny sh -c 'stty size; tty; exit 5'\" /dev/null");
    EXPECT_EQ(r.status, 5) << r;
    EXPECT_NE(r.out.find("40 120"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
    ASSERT_EQ(docker({"run", "-d", "--name", "ex", "tiny", "sleep", "1000"}).status, 0);
    auto e = sh("script -qec \"stty rows 30 cols 100; docker exec -it ex sh -c 'stty size; exit 4'\" /dev/null");
    EXPECT_EQ(e.status, 4) << e;
    EXPECT_NE(e.out.find("30 100"), std::string::npos) << e.out;
    // typed input reaches the shell and its echo comes back
    auto typed = sh("(sleep 1; printf 'echo typed-$((40+2)); exit\\n') | script -qec 'docker exec -it ex sh' /dev/null");
    EXPECT_EQ(typed.status, 0) << typed;
    EXPECT_NE(typed.out.find("typed-42"), std::string::npos) << typed.out;
    // a detached TTY container's output is in its log, raw
    ASSERT_EQ(docker({"run", "-d", "-t", "--name", "tl", "tiny", "sh", "-c", "echo tty-out; echo tty-err >&2; sleep 1000"}).status, 0);
    std::string logs;
    for (int i = 0; i < 50 && logs.find("tty-err") == std::string::npos; i++) {
        logs = docker({"logs", "tl"}).out;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(logs.find("tty-out\r\n"), std::string::npos) << logs;
}

TEST_F(Flows, Exec) {
    tiny();
    ASSERT_EQ(docker({"run", "-d", "--name", "ex", "tiny", "sleep", "1000"}).status, 0);
    auto plain = docker({"exec", "ex", "echo", "hi"});
    EXPECT_EQ(plain.status, 0);
    EXPECT_EQ(plain.out, "hi\n");
    auto in = docker({"exec", "-i", "ex", "cat"}, "hello-exec-stdin\n");
    EXPECT_EQ(in.out, "hello-exec-stdin\n") << in;
    auto code = docker({"exec", "ex", "sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(code.status, 3);
    EXPECT_EQ(code.out, "out\n");
    EXPECT_NE(code.err.find("err\n"), std::string::npos) << code;
    auto env = docker({"exec", "-e", "GREETING=hello", "-w", "/etc", "ex", "sh", "-c", "echo $GREETING $(pwd)"});
    EXPECT_EQ(env.out, "hello /etc\n") << env;
    auto user = docker({"exec", "-u", "nobody", "ex", "id", "-u"});
    EXPECT_EQ(user.out, "65534\n") << user;
    ASSERT_EQ(docker({"exec", "-d", "ex", "sh", "-c", "echo detached > /tmp/d"}).status, 0);
    std::string d;
    for (int i = 0; i < 50 && d != "detached\n"; i++) {
        d = docker({"exec", "ex", "cat", "/tmp/d"}).out;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(d, "detached\n");
    auto ids = docker({"inspect", "-f", "{{if .ExecIDs}}has-execs{{end}}", "ex"});
    EXPECT_EQ(ids.out, "has-execs\n") << ids;
}

TEST_F(Flows, DetachedLifecycle) {
    tiny();
    auto run = docker({"run", "-d", "--name", "w1", "tiny", "sh", "-c", "echo started; echo warn >&2; sleep 1000"});
    ASSERT_EQ(run.status, 0) << run;
    std::string id(trim(run.out));
    auto ps = docker({"ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"});
    EXPECT_EQ(ps.out.substr(0, 16), id.substr(0, 12) + " w1 ") << ps.out;
    EXPECT_NE(ps.out.find(" Up "), std::string::npos);
    auto all = docker({"ps", "-a", "--no-trunc", "-q"});
    EXPECT_EQ(all.out, id + "\n");
    ToolResult logs;
    for (int i = 0; i < 50; i++) {
        logs = docker({"logs", "w1"});
        if (logs.err == "warn\n") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(logs.out, "started\n");
    EXPECT_EQ(logs.err, "warn\n");
    auto tail = docker({"logs", "--timestamps", "--tail", "1", "w1"});
    EXPECT_EQ(tail.out, "");
    EXPECT_NE(tail.err.find("Z warn\n"), std::string::npos) << tail;
    auto inspect = docker({"inspect", "-f", "{{.State.Running}} {{.Name}} {{.Config.Image}} {{.HostConfig.NetworkMode}}", "w1"});
    EXPECT_EQ(inspect.out, "true /w1 tiny default\n");
    auto ip = docker({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "w1"});
    EXPECT_EQ(ip.out.rfind("10.220.", 0), 0u) << ip.out;
    auto stop = docker({"stop", "-t", "1", "w1"});
    EXPECT_EQ(stop.out, "w1\n") << stop;
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "w1"}).out, "exited 137\n");
    EXPECT_EQ(docker({"rm", "w1"}).out, "w1\n");
}

TEST_F(Flows, KillWaitRenameTopStats) {
    tiny();
    ASSERT_EQ(docker({"run", "-d", "--name", "kw", "tiny", "sh", "-c",
                      "trap 'echo got-usr1' USR1; while true; do sleep 0.1; done"}).status, 0);
    auto top = docker({"top", "kw"});
    EXPECT_NE(top.out.find("UID"), std::string::npos) << top;
    EXPECT_NE(top.out.find("sh -c"), std::string::npos) << top.out;
    auto topo = docker({"top", "kw", "-o", "pid,args"});
    EXPECT_EQ(topo.out.rfind("PID", 0), 0u) << topo.out;
    auto stats = docker({"stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "kw"});
    EXPECT_EQ(stats.out.rfind("kw ", 0), 0u) << stats;
    auto all = docker({"stats", "--no-stream", "--format", "{{.Name}}"});
    EXPECT_EQ(all.out, "kw\n") << all;
    ASSERT_EQ(docker({"rename", "kw", "kw2"}).status, 0);
    EXPECT_EQ(docker({"ps", "--format", "{{.Names}}"}).out, "kw2\n");
    api::SpawnOptions so;
    so.pipe_stdout = true;
    std::vector<std::string> argv = {"/usr/local/bin/docker", "-H", host(), "wait", "kw2"};
    api::Spawned waiter = api::spawn(argv, so);
    ASSERT_EQ(docker({"kill", "--signal=USR1", "kw2"}).status, 0);
    std::string got;
    for (int i = 0; i < 50 && got.find("got-usr1") == std::string::npos; i++) {
        got = docker({"logs", "kw2"}).out;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(got.find("got-usr1"), std::string::npos);
    ASSERT_EQ(docker({"kill", "kw2"}).status, 0);
    EXPECT_EQ(api::read_all(waiter.out.get()), "137\n");
    EXPECT_EQ(api::wait_child(waiter.pid), 0);
    EXPECT_EQ(docker({"wait", "kw2"}).out, "137\n");
    EXPECT_EQ(docker({"ps", "-a", "--filter", "name=kw2", "--format", "{{.Names}} {{.State}}"}).out, "kw2 exited\n");
    auto again = docker({"kill", "kw2"});
    EXPECT_NE(again.status, 0);
    EXPECT_NE(again.err.find("is not running"), std::string::npos) << again;
}

TEST_F(Flows, PauseUnpauseAndExecIntoPaused) {
    tiny();
    ASSERT_EQ(docker({"run", "-d", "--name", "pz", "tiny", "sleep", "1000"}).status, 0);
    ASSERT_EQ(docker({"pause", "pz"}).status, 0);
    EXPECT_NE(docker({"ps", "--format", "{{.Names}} {{.Status}}"}).out.find("(Paused)"), std::string::npos);
    auto e = docker({"exec", "pz", "true"});
    EXPECT_NE(e.status, 0);
    EXPECT_NE(e.err.find("Container pz is paused, unpause the container before exec"), std::string::npos) << e;
    ASSERT_EQ(docker({"unpause", "pz"}).status, 0);
    EXPECT_EQ(docker({"exec", "pz", "echo", "ok"}).out, "ok\n");
}

TEST_F(Flows, CopyInAndOut) {
    tiny();
    ASSERT_EQ(docker({"run", "-d", "--name", "cpc", "tiny", "sh", "-c",
                      "echo made-in-container > /tmp/out.txt; mkdir -p /tmp/d; echo x > /tmp/d/y; sleep 1000"}).status, 0);
    std::string dir = tmp() + "/cp";
    make_dirs(dir);
    write_file_atomic(dir + "/in.txt", "copied-in\n");
    auto in = sh("cd " + dir + " && docker cp in.txt cpc:/tmp/");
    ASSERT_EQ(in.status, 0) << in;
    EXPECT_EQ(docker({"exec", "cpc", "cat", "/tmp/in.txt"}).out, "copied-in\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto out = sh("cd " + dir + " && docker cp cpc:/tmp/out.txt ./out.txt && cat out.txt");
    EXPECT_EQ(out.out, "made-in-container\n") << out;
    auto d = sh("cd " + dir + " && docker cp cpc:/tmp/d . && cat d/y");
    EXPECT_EQ(d.out, "x\n") << d;
    auto missing = sh("cd " + dir + " && docker cp cpc:/nonexistent .");
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.err.find("Could not find the file /nonexistent in container cpc"), std::string::npos) << missing;
    auto bad = sh("echo not-a-tar | docker cp - cpc:/tmp/");
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.err.find("Error processing tar file"), std::string::npos) << bad;
    // a symlink in the container cannot send a copy to the host
    ASSERT_EQ(docker({"exec", "cpc", "ln", "-s", "/", "/tmp/escape"}).status, 0);
    write_file_atomic(dir + "/victim.txt", "v\n");
    auto esc = sh("cd " + dir + " && docker cp victim.txt cpc:/tmp/escape/");
    EXPECT_EQ(esc.status, 0) << esc;
    EXPECT_FALSE(read_file_if_exists("/victim.txt")) << "copied onto the host's /";
    EXPECT_EQ(docker({"exec", "cpc", "cat", "/victim.txt"}).out, "v\n");
}

TEST_F(Flows, DiffAndExport) {
    tiny();
    defer([this] { docker({"rm", "-f", "dx"}); });
    ASSERT_EQ(docker({"run", "--name", "dx", "--network", "none", "tiny", "sh", "-c",
                      "echo hi > /etc/motd; rm /bin/ls; mkdir /tmp/d; echo f > /tmp/d/f"}).status, 0);
    auto d = docker({"diff", "dx"});
    EXPECT_EQ(d.status, 0) << d;
    EXPECT_EQ(d.out, "C /bin\nD /bin/ls\nC /etc\nA /etc/motd\nC /tmp\nA /tmp/d\nA /tmp/d/f\n");
    std::string raw = raw_request("GET /containers/dx/changes HTTP/1.0\r\n\r\n");
    EXPECT_NE(raw.find("{\"Kind\":2,\"Path\":\"/bin/ls\"}"), std::string::npos) << raw;
    // the whole filesystem as the container sees it, entries named as docker export names them
    std::string tar = tmp() + "/dx.tar";
    auto e = docker({"export", "-o", tar, "dx"});
    ASSERT_EQ(e.status, 0) << e;
    std::string names = sh("tar -tf " + tar).out;
    EXPECT_EQ(names.rfind("bin/\n", 0), 0u) << names;
    for (const char* want : {"\netc/motd\n", "\ntmp/d/f\n", "\nbin/busybox\n"})
        EXPECT_NE(names.find(want), std::string::npos) << want << "\n" << names;
    EXPECT_EQ(names.find("\nbin/ls\n"), std::string::npos) << names;
    EXPECT_EQ(sh("docker export dx | tar -xOf - etc/motd").out, "hi\n");
    for (const char* verb : {"diff", "export"}) {
        auto missing = sh(std::string("docker ") + verb + " nosuch > /dev/null");
        EXPECT_EQ(missing.status, 1) << missing;
        EXPECT_NE(missing.err.find("No such container: nosuch"), std::string::npos) << missing;
    }
}

TEST_F(Flows, LoginChecksTheRegistryThroughTheDaemon) {
    // the fixture registry wants no credentials: any login succeeds, as with dockerd
    auto ok = docker({"login", registry(), "-u", "x", "-p", "y"});
    EXPECT_EQ(ok.status, 0) << ok;
    EXPECT_NE(ok.out.find("Login Succeeded"), std::string::npos) << ok;
    std::string body = "{\"username\":\"x\",\"password\":\"y\",\"serveraddress\":\"" + registry() + "\"}";
    std::string raw = raw_request("POST /auth HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_EQ(raw.rfind("HTTP/1.0 200", 0) == 0 || raw.rfind("HTTP/1.1 200", 0) == 0, true) << raw;
    EXPECT_NE(raw.find("{\"IdentityToken\":\"\",\"Status\":\"Login Succeeded\"}"), std::string::npos) << raw;
    // nothing listens there: a clear error, and nothing stored
    std::string closed = "127.0.0.1:" + std::to_string(free_tcp_port());
    auto bad = docker({"login", closed, "-u", "x", "-p", "y"});
    EXPECT_EQ(bad.status, 1) << bad;
    EXPECT_NE(bad.err.find("Error response from daemon: registry " + closed + ": login: Couldn't connect to server"),
              std::string::npos) << bad;
    EXPECT_EQ(read_file(tmp() + "/docker-config/config.json").find(closed), std::string::npos);
    auto missing = raw_request("POST /auth HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_NE(missing.find(" 400 "), std::string::npos) << missing;
}

TEST_F(Flows, PublishedPort) {
    tiny();
    int port = free_tcp_port();
    std::string spec = "127.0.0.1:" + std::to_string(port) + ":80";
    ASSERT_EQ(docker({"run", "-d", "--name", "web", "-p", spec, "tiny", "sh", "-c",
                      "mkdir /www && echo served > /www/index.html && exec httpd -f -p 80 -h /www"}).status, 0);
    auto p = docker({"port", "web"});
    EXPECT_EQ(p.out, "80/tcp -> 127.0.0.1:" + std::to_string(port) + "\n") << p;
    EXPECT_NE(http_get(port).find("served"), std::string::npos);
    // dockerd's publish filter names the container port of a published mapping
    auto ps = docker({"ps", "--filter", "publish=80", "--format", "{{.Names}} {{.Ports}}"});
    EXPECT_EQ(ps.out, "web 127.0.0.1:" + std::to_string(port) + "->80/tcp\n") << ps;
    EXPECT_EQ(docker({"ps", "--filter", "publish=" + std::to_string(port)}).out.find("web"), std::string::npos);
}

// docker-compose 1.29's order for every service: create, network disconnect,
// network connect (with aliases), start. The published port answers all the same.
TEST_F(Flows, PublishedPortAfterDisconnectConnectBeforeStart) {
    tiny();
    ASSERT_EQ(docker({"network", "create", "--subnet", "10.251.7.0/24", "pnet"}).status, 0);
    auto c = docker({"create", "--name", "wa", "--network", "pnet", "-p", "127.0.0.1:18249:80", "tiny", "sh", "-c",
                     "mkdir /w && echo reconnected > /w/index.html && exec httpd -f -p 80 -h /w"});
    ASSERT_EQ(c.status, 0) << c;
    ASSERT_EQ(docker({"network", "disconnect", "pnet", "wa"}).status, 0);
    auto conn = docker({"network", "connect", "--alias", "web", "pnet", "wa"});
    ASSERT_EQ(conn.status, 0) << conn;
    ASSERT_EQ(docker({"start", "wa"}).status, 0);
    EXPECT_NE(http_get(18249).find("reconnected"), std::string::npos) << daemon_log();
    EXPECT_EQ(docker({"port", "wa"}).out, "80/tcp -> 127.0.0.1:18249\n");
    ASSERT_EQ(docker({"rm", "-f", "wa"}).status, 0);
    ASSERT_EQ(docker({"network", "rm", "pnet"}).status, 0);
    EXPECT_EQ(run_command({"sh", "-c", "nft list ruleset | grep -c 18249"}).out, "0\n");
    std::vector<Leak> left;
    for (const auto& l : leak_report())
        if (l.kind == Leak::Kind::nft || l.kind == Leak::Kind::netns || l.kind == Leak::Kind::link) left.push_back(l);
    EXPECT_EQ(LeakScope::describe(left), "");
}

TEST_F(Flows, Networks) {
    tiny();
    auto c = docker({"network", "create", "n1"});
    ASSERT_EQ(c.status, 0) << c;
    EXPECT_EQ(trim(c.out).size(), 64u);
    EXPECT_EQ(docker({"network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "n1"}).out, "10.221.0.0/24\n");
    // tiny's busybox has nc but neither nslookup nor ping: names are checked by connecting
    const std::string listen = "while true; do echo pong-$(hostname) | nc -l -p 7000; done";
    ASSERT_EQ(docker({"run", "-d", "--name", "netc", "--network", "n1", "tiny", "sh", "-c", listen}).status, 0);
    ToolResult dns;
    for (int i = 0; i < 20 && dns.out.find("pong-") == std::string::npos; i++)
        dns = docker({"run", "--rm", "--network", "n1", "tiny", "sh", "-c", "echo ping | nc -w 2 netc 7000"});
    EXPECT_NE(dns.out.find("pong-"), std::string::npos) << dns;
    ASSERT_EQ(docker({"run", "-d", "--name", "netd", "tiny", "sh", "-c", listen}).status, 0);
    ASSERT_EQ(docker({"network", "connect", "--alias", "dee", "n1", "netd"}).status, 0);
    ToolResult reach;
    for (int i = 0; i < 20 && reach.out.find("pong-") == std::string::npos; i++)
        reach = docker({"exec", "netc", "sh", "-c", "echo ping | nc -w 2 dee 7000"});
    EXPECT_NE(reach.out.find("pong-"), std::string::npos) << reach;
    // netd, started on the default network, now resolves the names of n1 (issue 16)
    EXPECT_NE(docker({"exec", "netd", "cat", "/etc/resolv.conf"}).out.find("nameserver 10.221.0.1\n"),
              std::string::npos);
    auto back = docker({"exec", "netd", "sh", "-c", "echo ping | nc -w 2 netc 7000"});
    EXPECT_NE(back.out.find("pong-"), std::string::npos) << back;
    auto inspect = docker({"network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "n1"});
    EXPECT_NE(inspect.out.find("netd"), std::string::npos) << inspect;
    ASSERT_EQ(docker({"network", "disconnect", "n1", "netd"}).status, 0);
    EXPECT_EQ(docker({"inspect", "-f", "{{len .NetworkSettings.Networks}}", "netd"}).out, "1\n");
    EXPECT_EQ(docker({"exec", "netd", "cat", "/etc/resolv.conf"}).out.find("10.221.0.1"), std::string::npos);
    auto ls = docker({"network", "ls", "--format", "{{.Name}} {{.Driver}}"});
    EXPECT_NE(ls.out.find("n1 bridge"), std::string::npos);
    EXPECT_NE(ls.out.find("none null"), std::string::npos) << ls.out;
    auto busy = docker({"network", "rm", "n1"});
    EXPECT_NE(busy.status, 0);
    EXPECT_NE(busy.err.find("has active endpoints"), std::string::npos) << busy;
    ASSERT_EQ(docker({"rm", "-f", "netc", "netd"}).status, 0);
    EXPECT_EQ(docker({"network", "rm", "n1"}).status, 0);
    EXPECT_NE(docker({"network", "inspect", "n1"}).status, 0);
}

TEST_F(Flows, VolumesAndBinds) {
    tiny();
    ASSERT_EQ(docker({"volume", "create", "v1"}).out, "v1\n");
    auto w = docker({"run", "--rm", "-v", "v1:/data", "tiny", "sh", "-c", "echo persisted > /data/f; ls /data"});
    EXPECT_EQ(w.out, "f\n") << w;
    std::string host_dir = tmp() + "/host";
    make_dirs(host_dir);
    write_file_atomic(host_dir + "/hostfile.txt", "from-host\n");
    auto r = docker({"run", "--rm", "-v", "v1:/data:ro", "-v", host_dir + ":/h", "tiny", "sh", "-c",
                     "cat /data/f /h/hostfile.txt; echo written > /h/out.txt; touch /data/no 2>/dev/null || echo ro"});
    EXPECT_EQ(r.out, "persisted\nfrom-host\nro\n") << r;
    EXPECT_EQ(read_file(host_dir + "/out.txt"), "written\n");
    auto m = docker({"run", "--rm", "--mount", "type=bind,src=" + host_dir + ",dst=/h2,readonly", "tiny", "ls", "/h2"});
    EXPECT_EQ(m.out, "hostfile.txt\nout.txt\n") << m;
    ASSERT_EQ(docker({"run", "--rm", "-v", "/data2", "tiny", "true"}).status, 0);
    EXPECT_EQ(docker({"volume", "ls", "-q"}).out, "v1\n"); // the anonymous volume went with its --rm container
    EXPECT_EQ(docker({"volume", "inspect", "-f", "{{.Driver}} {{.Name}}", "v1"}).out, "local v1\n");
    ASSERT_EQ(docker({"run", "-d", "--name", "busy", "-v", "v1:/x", "tiny", "sleep", "1000"}).status, 0);
    auto inuse = docker({"volume", "rm", "v1"});
    EXPECT_NE(inuse.status, 0);
    EXPECT_NE(inuse.err.find("volume is in use"), std::string::npos) << inuse;
    ASSERT_EQ(docker({"rm", "-f", "busy"}).status, 0);
    EXPECT_EQ(docker({"volume", "rm", "v1"}).out, "v1\n");
    ASSERT_EQ(docker({"volume", "create", "v2"}).status, 0);
    auto prune = docker({"volume", "prune", "-f"});
    EXPECT_NE(prune.out.find("v2"), std::string::npos) << prune;
    EXPECT_EQ(docker({"volume", "ls", "-q"}).out, "");
}

TEST_F(Flows, EventsLiveAndSinceUntil) {
    tiny();
    api::SpawnOptions so;
    so.pipe_stdout = true;
    std::vector<std::string> argv = {"/usr/local/bin/docker", "-H", host(), "events", "--format", "{{.Type}} {{.Action}}"};
    api::Spawned ev = api::spawn(argv, so);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int64_t t0 = ::time(nullptr);
    ASSERT_EQ(docker({"run", "--rm", "--name", "evc", "tiny", "true"}).status, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(ev.pid, SIGTERM);
    std::string live = api::read_all(ev.out.get());
    api::wait_child(ev.pid);
    // the sequence dockerd sends for this command (reference 17-events.txt), network events included
    EXPECT_EQ(live, "container create\ncontainer attach\nnetwork connect\ncontainer start\ncontainer die\n"
                    "network disconnect\ncontainer destroy\n");
    auto past = docker({"events", "--since", std::to_string(t0), "--until", std::to_string(::time(nullptr) + 1), "--filter",
                        "type=container", "--filter", "event=start", "--format", "{{json .}}"});
    ASSERT_EQ(past.status, 0) << past;
    auto lines = split(trim(past.out), '\n');
    ASSERT_EQ(lines.size(), 1u) << past.out;
    Json e = Json::parse(lines[0]);
    EXPECT_EQ(e["status"], "start");
    EXPECT_EQ(e["Actor"]["Attributes"]["name"], "evc");
    EXPECT_EQ(e["Actor"]["Attributes"]["image"], "tiny");
    // network connect/disconnect: the network's ID, the container, name and type (reference 17-events.txt)
    auto net = docker({"events", "--since", std::to_string(t0), "--until", std::to_string(::time(nullptr) + 1), "--filter",
                       "type=network", "--format", "{{json .}}"});
    ASSERT_EQ(net.status, 0) << net;
    lines = split(trim(net.out), '\n');
    ASSERT_EQ(lines.size(), 2u) << net.out;
    std::string bridge_id(trim(docker({"network", "inspect", "-f", "{{.Id}}", "bridge"}).out));
    for (size_t i = 0; i < 2; i++) {
        Json n = Json::parse(lines[i]);
        EXPECT_EQ(n["Action"], i == 0 ? "connect" : "disconnect");
        EXPECT_EQ(n["Actor"]["ID"], bridge_id);
        EXPECT_EQ(n["Actor"]["Attributes"]["container"], e["id"]);
        EXPECT_EQ(n["Actor"]["Attributes"]["name"], "bridge");
        EXPECT_EQ(n["Actor"]["Attributes"]["type"], "bridge");
    }
}

TEST_F(Flows, LogsFollow) {
    tiny();
    ASSERT_EQ(docker({"run", "-d", "--name", "lf", "tiny", "sh", "-c",
                      "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"}).status, 0);
    auto f = sh("timeout -s INT 2 docker logs -f lf");
    auto ticks = split(trim(f.out), '\n');
    EXPECT_GE(ticks.size(), 5u) << f;
    EXPECT_EQ(ticks[0], "tick 1");
    // follow ends by itself when the container stops
    ASSERT_EQ(docker({"run", "-d", "--name", "short", "tiny", "sh", "-c", "sleep 1; echo last"}).status, 0);
    auto done = docker({"logs", "-f", "short"});
    EXPECT_EQ(done.out, "last\n") << done;
}

TEST_F(Flows, ErrorsAndTheInspectFallbackChain) {
    tiny();
    auto bad = docker({"run", "-d", "--name", "w", "tiny", "sleep", "1"});
    EXPECT_EQ(bad.status, 125);
    EXPECT_NE(bad.err.find("Invalid container name (w), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"), std::string::npos) << bad;
    auto logs = docker({"logs", "w"});
    EXPECT_NE(logs.err.find("No such container: w"), std::string::npos) << logs;
    auto inspect = docker({"inspect", "w"});
    EXPECT_EQ(inspect.status, 1);
    EXPECT_NE(inspect.err.find("No such object: w"), std::string::npos) << inspect;
    EXPECT_NE(docker({"stop", "w"}).err.find("No such container: w"), std::string::npos);
    EXPECT_NE(docker({"rm", "w"}).err.find("No such container: w"), std::string::npos);
    EXPECT_NE(docker({"start", "nosuchctr"}).err.find("No such container: nosuchctr"), std::string::npos);
    ASSERT_EQ(docker({"create", "--name", "dup", "tiny"}).status, 0);
    auto dup = docker({"create", "--name", "dup", "tiny"});
    EXPECT_NE(dup.err.find("Conflict. The container name \"/dup\" is already in use by container"), std::string::npos) << dup;
    ASSERT_EQ(docker({"rm", "dup"}).status, 0);
    ASSERT_EQ(docker({"run", "-d", "--name", "busy", "tiny", "sleep", "1000"}).status, 0);
    auto rm = docker({"rm", "busy"});
    EXPECT_NE(rm.err.find("You cannot remove a running container"), std::string::npos) << rm;
    // by ID, an image with several names is a conflict; by one of its names it is untagged
    std::string image_id(trim(docker({"image", "inspect", "-f", "{{.Id}}", "tiny"}).out));
    auto rmi = docker({"rmi", image_id});
    EXPECT_NE(rmi.status, 0);
    EXPECT_NE(rmi.err.find("conflict"), std::string::npos) << rmi;
    auto nosuch = docker({"run", "--rm", registry() + "/nosuch:v9", "true"});
    EXPECT_EQ(nosuch.status, 125);
    EXPECT_NE(nosuch.err.find("Unable to find image"), std::string::npos) << nosuch;
    auto commit = docker({"commit", "no-such-container", registry() + "/committed:v1"});
    EXPECT_NE(commit.status, 0);
    EXPECT_NE(commit.err.find("Error response from daemon"), std::string::npos) << commit;
}

} // namespace
} // namespace ctk::test
