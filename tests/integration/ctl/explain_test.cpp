// --explain: the printed script, run by hand, makes the same container that
// ctl makes; and explaining changes nothing.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlExplain : public CtlTest {
protected:
    void SetUp() override {
        CtlTest::SetUp();
        if (::geteuid() == 0) load_tiny();
    }
    // config.json with this container's own names replaced, for comparison
    Json normalized_config(const std::string& name) {
        std::string id(trim(ctl({"inspect", "-f", "{{.Id}}", name}).out));
        std::string text = read_file(ctk_root() + "/containers/" + id + "/bundle/config.json");
        for (size_t p; (p = text.find(id)) != std::string::npos;) text.replace(p, id.size(), "ID");
        for (size_t p; (p = text.find(id.substr(0, 12))) != std::string::npos;) text.replace(p, 12, "ID12");
        return Json::parse(text);
    }
};
} // namespace

TEST_F(CtlExplain, TheScriptMakesTheSameContainer) {
    CTK_REQUIRE_ROOT();
    std::vector<std::string> args = {"-e", "A=1", "-w", "/tmp", "-m", "64m", "--pids-limit", "50",
                                     "--cap-drop", "MKNOD", "-v", "exdata:/data", "-p", "127.0.0.1:28082:80",
                                     tiny(), "sh", "-c", "echo $A $(pwd) $(cat /etc/hostname); exec sleep 1000"};
    std::vector<std::string> ex = {"--explain", "run", "-d", "--name", "by-script"};
    ex.insert(ex.end(), args.begin(), args.end());
    auto script = ctl(ex);
    ASSERT_EQ(script.status, 0) << script;
    EXPECT_EQ(script.out.rfind("#!/bin/sh\n", 0), 0u);
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "") << "--explain made something";
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "") << "--explain made a volume";
    write_file_atomic(tmp() + "/run.sh", script.out);
    auto ran = sh("sh " + tmp() + "/run.sh");
    ASSERT_EQ(ran.status, 0) << ran << script.out;

    std::vector<std::string> direct = {"run", "-d", "--name", "by-ctl", "-p", "127.0.0.1:28083:80"};
    for (size_t i = 0; i < args.size(); i++) {
        if (args[i] == "-p") {
            i++;
            continue;
        }
        direct.push_back(args[i]);
    }
    ASSERT_EQ(ctl(direct).status, 0);

    // ctl sees the script's container like its own, and both run the same way
    auto ps = ctl({"ps", "--format", "{{.Names}} {{.State}}"});
    EXPECT_NE(ps.out.find("by-script running"), std::string::npos) << ps.out;
    EXPECT_NE(ps.out.find("by-ctl running"), std::string::npos) << ps.out;
    std::string id12(trim(ctl({"inspect", "-f", "{{.Config.Hostname}}", "by-script"}).out));
    EXPECT_EQ(ctl({"logs", "by-script"}).out, "1 /tmp " + id12 + "\n");
    Json a = normalized_config("by-script"), b = normalized_config("by-ctl");
    EXPECT_EQ(a["process"], b["process"]);
    EXPECT_EQ(a["linux"]["resources"], b["linux"]["resources"]);
    EXPECT_EQ(a["linux"]["namespaces"], b["linux"]["namespaces"]);
    EXPECT_EQ(a["mounts"].size(), b["mounts"].size());
    EXPECT_EQ(a["hostname"], "ID12");
    // both in the network, both removable by ctl
    std::string ip(trim(ctl({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "by-script"}).out));
    EXPECT_FALSE(ip.empty());
    EXPECT_EQ(ctl({"rm", "-f", "by-script", "by-ctl"}).status, 0);
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
}

TEST_F(CtlExplain, AForegroundRunScriptReturnsTheStatusAndCleansUp) {
    CTK_REQUIRE_ROOT();
    auto script = ctl({"--explain", "run", "--rm", tiny(), "sh", "-c", "echo from the script; exit 6"});
    ASSERT_EQ(script.status, 0) << script;
    for (const char* tool : {"img-unpack --image", "unshare --net=", "net-bridge attach bridge", "ns-run --root",
                             "net-bridge detach bridge", "img-unpack --release"})
        EXPECT_NE(script.out.find(tool), std::string::npos) << tool << "\n" << script.out;
    write_file_atomic(tmp() + "/run.sh", script.out);
    auto ran = sh("sh " + tmp() + "/run.sh");
    EXPECT_EQ(ran.status, 6) << ran;
    EXPECT_EQ(ran.out, "from the script\n");
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
    auto left = run_command({"sh", "-c", "ls " + ctk_root() + "/containers; ls " + ctk_run() + "/netns"});
    EXPECT_EQ(trim(left.out), "") << left;
}

TEST_F(CtlExplain, EveryStateChangingVerbExplains) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "e1", "--network", "none", tiny(), "sleep", "1000"}).status, 0);
    struct Case {
        std::vector<std::string> args;
        std::string expect;
    } cases[] = {
        {{"stop", "e1"}, " kill "},
        {{"kill", "e1"}, " kill "},
        {{"pause", "e1"}, " pause "},
        {{"rm", "-f", "e1"}, " delete --force "},
        {{"exec", "e1", "true"}, " exec "},
        {{"pull", tiny()}, "reg-fetch pull"},
        {{"network", "create", "nx"}, "net-bridge create nx"},
        {{"volume", "create", "vx"}, "vol-mount create vx"},
        {{"cp", "e1:/etc/passwd", tmp() + "/passwd-copy"}, "img-pack archive --name passwd-copy -- "},
    };
    for (const auto& c : cases) {
        std::vector<std::string> a = {"--explain"};
        a.insert(a.end(), c.args.begin(), c.args.end());
        auto r = ctl(a);
        EXPECT_EQ(r.status, 0) << r;
        EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.expect << "\n" << r.out;
    }
    EXPECT_EQ(ctl({"inspect", "-f", "{{.State.Status}}", "e1"}).out, "running\n");
    EXPECT_EQ(ctl({"network", "ls", "-q", "--filter", "name=nx"}).out, "");
    EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "");
    // cp's script is the pipe ctl runs: it copies as the verb does
    EXPECT_FALSE(std::filesystem::exists(tmp() + "/passwd-copy"));
    auto script = ctl({"--explain", "cp", "e1:/etc/passwd", tmp() + "/passwd-copy"});
    ASSERT_EQ(script.status, 0) << script;
    EXPECT_NE(script.out.find(" | img-pack extract --no-overwrite-dir-non-dir --no-same-owner -- / "), std::string::npos)
        << script.out;
    write_file_atomic(tmp() + "/cp.sh", script.out);
    auto ran = sh("sh " + tmp() + "/cp.sh");
    ASSERT_EQ(ran.status, 0) << ran << script.out;
    EXPECT_EQ(read_file(tmp() + "/passwd-copy"), ctl({"exec", "e1", "cat", "/etc/passwd"}).out);
    ASSERT_EQ(ctl({"cp", "e1:/etc/group", tmp() + "/group-copy"}).status, 0);
    EXPECT_EQ(read_file(tmp() + "/group-copy"), ctl({"exec", "e1", "cat", "/etc/group"}).out);
}

namespace {

// What --explain must leave as it found: every path under CTK_ROOT and
// CTK_RUN with its type, mode, size, and a hash of its contents (regular
// files) or its target (symlinks). One line a path, so a failure shows which.
std::string tree_listing(const std::string& root) {
    namespace fs = std::filesystem;
    std::string out;
    std::error_code ec;
    if (!fs::exists(root, ec)) return "(absent)\n";
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        struct stat st;
        std::string p = it->path().string();
        if (::lstat(p.c_str(), &st) < 0) continue;
        out += p.substr(root.size()) + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_size);
        if (S_ISREG(st.st_mode)) {
            try {
                out += " " + std::to_string(std::hash<std::string>{}(read_file(p, 256u << 20)));
            } catch (const std::exception&) {
                out += " unreadable"; // a network namespace bind-mounted on a file
            }
        } else if (S_ISLNK(st.st_mode)) {
            out += " -> " + fs::read_symlink(p, ec).string();
        }
        out += "\n";
    }
    return out;
}

} // namespace

// Issue 18: every state-changing verb either prints a script (and changes
// nothing: the store and the runtime root hash the same before and after) or
// is refused with 125 and nothing on stdout; read-only verbs are refused too.
TEST_F(CtlExplain, NoVerbChangesTheStoreAndStdoutIsOnlyAScript) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "e1", tiny(), "sleep", "1000"}).status, 0);
    ASSERT_EQ(ctl({"create", "--name", "e2", tiny(), "true"}).status, 0);
    ASSERT_EQ(ctl({"network", "create", "xa"}).status, 0);
    ASSERT_EQ(ctl({"volume", "create", "va"}).status, 0);
    make_dirs(tmp() + "/ctx");
    write_file_atomic(tmp() + "/ctx/Dockerfile", "FROM " + tiny() + "\nRUN echo a > /a\nENV X=1\nRUN echo b > /b\n");
    std::string archive = tmp() + "/tiny-docker-archive.tar";
    ASSERT_EQ(ctl({"save", "-o", archive, tiny()}).status, 0);
    std::vector<std::vector<std::string>> planned = {
        {"run", "-d", "--name", "x1", tiny(), "sleep", "1"},
        {"run", "--rm", tiny(), "true"},
        {"run", "-d", "--rm", "-v", "vnew:/data", "--network", "xa", tiny(), "true"},
        {"create", "--name", "x2", tiny()},
        {"start", "e2"},
        {"stop", "e1"},
        {"restart", "e1"},
        {"kill", "e1"},
        {"pause", "e1"},
        {"unpause", "e1"},
        {"exec", "e1", "touch", "/made-by-exec"},
        {"rm", "-f", "e1"},
        {"rm", "e2"},
        {"container", "rm", "-f", "e1"},
        {"container", "prune", "-f"},
        {"pull", tiny()},
        {"image", "pull", tiny()},
        {"push", tiny()},
        {"network", "create", "xb"},
        {"network", "rm", "xa"},
        {"network", "connect", "xa", "e1"},
        {"network", "disconnect", "bridge", "e1"},
        {"network", "prune", "-f"},
        {"volume", "create", "vb"},
        {"volume", "rm", "va"},
        {"volume", "prune", "-f", "-a"},
        {"tag", tiny(), "other:1"},
        {"image", "tag", tiny(), "other:2"},
        {"rmi", "-f", tiny()},
        {"image", "rm", "-f", tiny()},
        {"commit", "e1", "committed:1"},
        {"build", "-t", "built:1", tmp() + "/ctx"},
        {"image", "build", "-t", "built:2", tmp() + "/ctx"},
        {"save", "-o", tmp() + "/saved.tar", tiny()},
        {"load", "-i", archive},
        {"import", archive, "imported:1"},
        {"cp", tmp() + "/ctx/Dockerfile", "e1:/Dockerfile"},
        {"cp", "e1:/etc/hostname", tmp() + "/copied-out"},
    };
    std::vector<std::vector<std::string>> refused = {
        // change the store without a plan yet: never run
        {"rename", "e1", "renamed"},
        {"image", "prune", "-f", "-a"},
        {"system", "prune", "-f", "-a"},
        {"login", "-u", "x", "-p", "y", registry()},
        {"logout", registry()},
        // read only: nothing to explain
        {"ps", "-a"},
        {"images"},
        {"inspect", "e1"},
        {"logs", "e1"},
        {"wait", "e1"},
        {"attach", "e1"},
        {"top", "e1"},
        {"port", "e1"},
        {"diff", "e1"},
        {"export", "-o", tmp() + "/exported.tar", "e1"},
        {"container", "diff", "e1"},
        {"history", tiny()},
        {"system", "df"},
        {"network", "ls"},
        {"network", "inspect", "xa"},
        {"volume", "ls"},
        {"volume", "inspect", "va"},
        {"container", "ls"},
        {"image", "ls"},
    };
    auto check = [&](const std::vector<std::string>& args, bool plan) {
        std::string before = tree_listing(ctk_root()) + tree_listing(ctk_run());
        std::vector<std::string> a = {"--explain"};
        a.insert(a.end(), args.begin(), args.end());
        auto r = ctl(a);
        std::string what = join(args, " ");
        if (plan) {
            EXPECT_EQ(r.status, 0) << what << "\n" << r;
            EXPECT_EQ(r.out.rfind("#!/bin/sh\n", 0), 0u) << what << "\n" << r.out;
        } else {
            EXPECT_EQ(r.status, 125) << what << "\n" << r;
            EXPECT_EQ(r.out, "") << what;
            EXPECT_NE(r.err.find("has no plan"), std::string::npos) << what << "\n" << r.err;
        }
        EXPECT_EQ(tree_listing(ctk_root()) + tree_listing(ctk_run()), before) << "--explain " << what << " changed the store";
    };
    for (const auto& c : planned) check(c, true);
    for (const auto& c : refused) check(c, false);
    EXPECT_EQ(ctl({"inspect", "-f", "{{.State.Status}}", "e1"}).out, "running\n");
    EXPECT_EQ(ctl({"images", "-q", "built"}).out, "");
    EXPECT_FALSE(std::filesystem::exists(tmp() + "/saved.tar")) << "--explain save wrote the archive";
    EXPECT_FALSE(std::filesystem::exists(tmp() + "/copied-out")) << "--explain cp copied";
    EXPECT_NE(ctl({"exec", "e1", "test", "-e", "/Dockerfile"}).status, 0) << "--explain cp copied";
    EXPECT_EQ(ctl({"rm", "-f", "e1", "e2"}).status, 0);
    EXPECT_EQ(ctl({"network", "rm", "xa"}).status, 0);
    EXPECT_EQ(ctl({"volume", "rm", "va"}).status, 0);
}

// The representative verbs with plans: running the printed script makes what
// running the verb makes. Each object is made by the script, looked at, taken
// away, made again by ctl and looked at again; compared are the fields that
// do not hold an ID or a time: volumes (vol-mount inspect without CreatedAt),
// networks (driver, subnet, gateway, internal, labels, options), images (the
// layout's index.json entries: digest, media type, ref name; after rmi, the
// blobs left), containers
// (state, config.json's process and namespaces, networks, hostname file
// shape), and what rm leaves (nothing in containers/, netns/ or ns-run's list).
TEST_F(CtlExplain, RunningTheScriptMakesWhatTheVerbMakes) {
    CTK_REQUIRE_ROOT();
    auto by_script = [&](const std::vector<std::string>& args) {
        std::vector<std::string> a = {"--explain"};
        a.insert(a.end(), args.begin(), args.end());
        auto script = ctl(a);
        EXPECT_EQ(script.status, 0) << script;
        write_file_atomic(tmp() + "/step.sh", script.out);
        auto ran = sh("sh " + tmp() + "/step.sh");
        EXPECT_EQ(ran.status, 0) << ran << script.out;
    };
    auto direct = [&](const std::vector<std::string>& args) {
        auto r = ctl(args);
        EXPECT_EQ(r.status, 0) << r;
    };
    auto json_of = [&](const std::vector<std::string>& args) {
        auto r = ctl(args);
        EXPECT_EQ(r.status, 0) << r;
        return Json::parse(r.out.empty() ? "null" : r.out);
    };

    // volume create
    auto volume = [&] {
        Json v = json_of({"volume", "inspect", "vs"})[0];
        v.erase("CreatedAt");
        return v;
    };
    by_script({"volume", "create", "--label", "k=v", "vs"});
    Json v1 = volume();
    direct({"volume", "rm", "vs"});
    direct({"volume", "create", "--label", "k=v", "vs"});
    EXPECT_EQ(volume(), v1);
    direct({"volume", "rm", "vs"});

    // network create
    auto network = [&] {
        Json n = json_of({"network", "inspect", "ns"})[0];
        return Json{{"Driver", n["Driver"]}, {"IPAM", n["IPAM"]}, {"Internal", n["Internal"]},
                    {"Labels", n["Labels"]}, {"Mtu", n["Options"]["com.docker.network.driver.mtu"]}};
    };
    by_script({"network", "create", "--internal", "--label", "k=v", "ns"});
    Json n1 = network();
    EXPECT_EQ(n1["Internal"], true);
    direct({"network", "rm", "ns"});
    direct({"network", "create", "--internal", "--label", "k=v", "ns"});
    EXPECT_EQ(network(), n1);

    // pull
    auto index = [&] {
        Json idx = Json::parse(read_file(ctk_root() + "/images/index.json"));
        Json out = Json::array();
        for (const auto& m : idx["manifests"])
            out.push_back(Json{{"digest", m["digest"]}, {"mediaType", m["mediaType"]},
                               {"annotations", m.value("annotations", Json::object())}});
        return out;
    };
    direct({"rmi", tiny()});
    by_script({"pull", tiny()});
    Json i1 = index();
    EXPECT_EQ(i1.size(), 1u) << i1;
    direct({"rmi", tiny()});
    direct({"pull", tiny()});
    EXPECT_EQ(index(), i1);

    // tag, and rmi of a name and of the last name (the image and its blobs go)
    auto blobs = [&] { return run_command({"sh", "-c", "ls " + ctk_root() + "/images/blobs/sha256 | sort"}).out; };
    std::string all_blobs = blobs();
    by_script({"tag", tiny(), "named:1"});
    Json t1 = index();
    EXPECT_EQ(t1.size(), 2u) << t1;
    direct({"rmi", "named:1"});
    EXPECT_EQ(index(), i1);
    direct({"tag", tiny(), "named:1"});
    EXPECT_EQ(index(), t1);
    by_script({"rmi", "named:1"});
    EXPECT_EQ(index(), i1);
    by_script({"rmi", tiny()});
    EXPECT_EQ(index(), Json::array());
    EXPECT_EQ(blobs(), "") << "the script left blobs of the removed image";
    direct({"pull", tiny()});
    EXPECT_EQ(blobs(), all_blobs);
    direct({"rmi", tiny()});
    EXPECT_EQ(blobs(), "");
    direct({"pull", tiny()});

    // create + start, network connect
    auto container = [&](const std::string& name) {
        std::string id(trim(ctl({"inspect", "-f", "{{.Id}}", name}).out));
        Json cfg = normalized_config(name);
        Json nets = json_of({"inspect", "-f", "{{json .NetworkSettings.Networks}}", name});
        Json names = Json::array();
        for (auto it = nets.begin(); it != nets.end(); ++it) names.push_back(it.key());
        return Json{{"state", trim(ctl({"inspect", "-f", "{{.State.Status}}", name}).out)},
                    {"process", cfg["process"]}, {"namespaces", cfg["linux"]["namespaces"]},
                    {"mounts", cfg["mounts"].size()}, {"networks", names},
                    {"hostname", read_file(ctk_root() + "/containers/" + id + "/hostname").size()}};
    };
    std::vector<std::string> spec = {"-e", "A=1", "--network", "ns", tiny(), "sleep", "1000"};
    auto create_args = [&](const std::string& name) {
        std::vector<std::string> a = {"create", "--name", name};
        a.insert(a.end(), spec.begin(), spec.end());
        return a;
    };
    by_script(create_args("cs"));
    by_script({"start", "cs"});
    by_script({"network", "connect", "bridge", "cs"});
    direct(create_args("cd"));
    direct({"start", "cd"});
    direct({"network", "connect", "bridge", "cd"});
    Json cs = container("cs"), cd = container("cd");
    EXPECT_EQ(cs["state"], "running");
    EXPECT_EQ(cs["networks"], Json({"bridge", "ns"}));
    EXPECT_EQ(cs, cd);

    // rm: nothing of either is left
    by_script({"rm", "-f", "cs"});
    direct({"rm", "-f", "cd"});
    auto left = run_command({"sh", "-c", "find " + ctk_root() + "/containers " + ctk_run() + "/netns -mindepth 1 ! -name .lock; " +
                                             tool_path("ns-run") + " --root " + ctk_run() + "/runtime list -q"});
    EXPECT_EQ(trim(left.out), "") << left;
    direct({"network", "rm", "ns"});

    // commit, build, save, load: img-pack steps. Images are compared by what
    // does not hold a time: their layers (diff IDs), Config and history.
    auto image = [&](const std::string& ref) {
        Json layers = json_of({"image", "inspect", "-f", "{{json .RootFS.Layers}}", ref});
        Json config = json_of({"image", "inspect", "-f", "{{json .Config}}", ref});
        auto created_by = run_command({"sh", "-c", tool_path("ctl") + " history --no-trunc --format '{{.CreatedBy}}' " + ref});
        return Json{{"layers", layers}, {"config", config}, {"history", created_by.out}};
    };
    direct({"run", "--name", "cm", "--network", "none", "-e", "K=V", tiny(), "sh", "-c", "echo made > /made"});
    by_script({"commit", "-c", "LABEL by=commit", "cm", "committed:script"});
    direct({"commit", "-c", "LABEL by=commit", "cm", "committed:direct"});
    Json cs1 = image("committed:script"), cd1 = image("committed:direct");
    EXPECT_EQ(cs1["layers"].size(), 2u) << cs1;
    EXPECT_EQ(cs1, cd1);
    direct({"rm", "cm"});

    make_dirs(tmp() + "/bctx");
    write_file_atomic(tmp() + "/bctx/f", "from the context\n");
    // the RUN step's file gets a fixed mtime: the two builds' layers are then the same bytes
    write_file_atomic(tmp() + "/bctx/Dockerfile",
                      "FROM " + tiny() + "\nRUN echo a > /a && touch -t 200001010000 /a\nENV X=1\nCOPY f /copied\n");
    by_script({"build", "--no-cache", "-t", "built:script", tmp() + "/bctx"});
    direct({"build", "--no-cache", "-t", "built:direct", tmp() + "/bctx"});
    Json bs = image("built:script"), bd = image("built:direct");
    EXPECT_EQ(bs["layers"].size(), 3u) << bs;
    EXPECT_EQ(bs, bd);
    EXPECT_EQ(run_command({"sh", "-c", "ls -A " + ctk_root() + "/tmp"}).out, "") << "a build left its work directory";

    // save: the same archive; load: the same index entries
    by_script({"save", "-o", tmp() + "/script.tar", "built:script"});
    direct({"save", "-o", tmp() + "/direct.tar", "built:script"});
    auto listing = [&](const std::string& f) { return run_command({"sh", "-c", "tar -tvf " + f + " | sort"}).out; };
    EXPECT_NE(listing(tmp() + "/script.tar"), "");
    EXPECT_EQ(listing(tmp() + "/script.tar"), listing(tmp() + "/direct.tar"));
    direct({"rmi", "built:script"});
    by_script({"load", "-i", tmp() + "/script.tar"});
    Json l1 = index();
    direct({"rmi", "built:script"});
    direct({"load", "-i", tmp() + "/script.tar"});
    EXPECT_EQ(index(), l1);
    EXPECT_EQ(image("built:script"), bs);
}

// The script's EXIT trap undoes a half-made container as ctl's rollback
// does: here the network the container was to join is gone when it runs.
TEST_F(CtlExplain, AFailingScriptRemovesTheHalfMadeContainer) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"network", "create", "gone"}).status, 0);
    auto script = ctl({"--explain", "run", "-d", "--network", "gone", tiny(), "sleep", "1000"});
    ASSERT_EQ(script.status, 0) << script;
    EXPECT_NE(script.out.find("trap rollback EXIT"), std::string::npos) << script.out;
    EXPECT_NE(script.out.find("trap - EXIT"), std::string::npos) << script.out;
    ASSERT_EQ(ctl({"network", "rm", "gone"}).status, 0);
    write_file_atomic(tmp() + "/run.sh", script.out);
    auto ran = sh("sh " + tmp() + "/run.sh");
    EXPECT_NE(ran.status, 0) << ran;
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
    auto left = run_command({"sh", "-c", "find " + ctk_root() + "/containers " + ctk_run() + "/netns -mindepth 1 ! -name .lock"});
    EXPECT_EQ(trim(left.out), "") << left;
}
