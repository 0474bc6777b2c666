// One implementation, two faces: a listing asked of the local store (ctl) and
// of a ctld over the same store (ctl -H) prints the same bytes, and the
// daemon's answer is the engine's list as the docker CLI reads it.
#include <regex>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

class Faces : public CtldTest {
protected:
    ToolResult rctl(const std::vector<std::string>& args) {
        std::vector<std::string> a = {"-H", host()};
        a.insert(a.end(), args.begin(), args.end());
        return ctl(a);
    }
    // the same verb through both faces: same status, same output. Tables show
    // ages ("Less than a second ago"), so a pair that straddles a second is
    // asked again (at most twice); a real difference stays.
    void same(const std::vector<std::string>& args) {
        auto local = ctl(args), remote = rctl(args);
        for (int i = 0; i < 2 && local.out != remote.out; i++) {
            local = ctl(args);
            remote = rctl(args);
        }
        EXPECT_EQ(local.status, remote.status) << join(args, " ") << "\nlocal: " << local << "\nremote: " << remote;
        EXPECT_EQ(local.out, remote.out) << join(args, " ");
    }

    // A scenario of verbs run once through each face, on objects of its own:
    // "@" in an argument becomes "l" locally and "r" through the daemon, and
    // "#" 0 or 1 (a subnet). The local run goes first and
    // leaves nothing behind, then the remote one; step by step they must give
    // the same status, stdout and (when `err` is set) stderr, once the
    // remote names are read as the local ones and IDs as "<id>".
    struct Step {
        Step(std::vector<std::string> a, bool e, std::string x = "") : args(std::move(a)), err(e), expect_out(std::move(x)) {}
        std::vector<std::string> args;
        bool err;               // compare stderr too
        std::string expect_out; // when not empty: the local stdout, normalized
    };
    static std::string for_face(std::string a, char face) {
        for (size_t i; (i = a.find('@')) != std::string::npos;) a[i] = face;
        for (size_t i; (i = a.find('#')) != std::string::npos;) a[i] = face == 'l' ? '0' : '1';
        return a;
    }
    std::string normalized(std::string s, char face) {
        s = std::regex_replace(s, std::regex("[0-9a-f]{64}"), "<id>");
        s = std::regex_replace(s, std::regex("\\b[0-9a-f]{12}\\b"), "<id>");
        s = std::regex_replace(s, std::regex(tmp()), "TMP");
        if (face == 'r') s = std::regex_replace(s, std::regex("_r\\b"), "_l");
        // the local face names the tool that refused ("ctl: net-bridge: invalid CIDR …", as
        // the lab book shows it); the daemon's message is the same without the tool's name
        s = std::regex_replace(s, std::regex("^ctl: (reg-fetch|img-unpack|img-pack|ns-run|net-bridge|vol-mount): ", std::regex::ECMAScript | std::regex::multiline), "ctl: ");
        return s;
    }
    std::vector<ToolResult> play(const std::vector<Step>& steps, char face) {
        std::vector<ToolResult> out;
        for (const auto& st : steps) {
            std::vector<std::string> args;
            for (const auto& a : st.args) args.push_back(for_face(a, face));
            ToolResult r = face == 'l' ? ctl(args) : rctl(args);
            r.out = normalized(r.out, face);
            r.err = normalized(r.err, face);
            out.push_back(r);
        }
        return out;
    }
    void same_through_both(const std::vector<Step>& steps) {
        auto local = play(steps, 'l'), remote = play(steps, 'r');
        for (size_t i = 0; i < steps.size(); i++) {
            std::string what = join(steps[i].args, " ");
            EXPECT_EQ(local[i].status, remote[i].status) << what << "\nlocal: " << local[i] << "\nremote: " << remote[i];
            EXPECT_EQ(local[i].out, remote[i].out) << what;
            if (steps[i].err) {
                EXPECT_EQ(local[i].err, remote[i].err) << what;
            }
            if (!steps[i].expect_out.empty()) {
                EXPECT_EQ(local[i].out, steps[i].expect_out) << what;
            }
        }
    }
};

TEST_F(Faces, PsListsAndFiltersTheSameLocallyAndThroughTheDaemon) {
    tiny();
    ASSERT_EQ(ctl({"run", "-d", "--name", "web", "--network", "none", "-l", "tier=front", "-l", "team=a",
                   "--expose", "8080", "tiny", "sleep", "1000"}).status, 0);
    ASSERT_EQ(ctl({"run", "--name", "job", "--network", "none", "-l", "tier=back", "tiny", "sh", "-c", "exit 3"}).status, 3);
    ASSERT_EQ(ctl({"create", "--name", "idle", "--network", "none", "tiny", "true"}).status, 0);
    const std::string fmt = "{{.Names}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Status}}|{{.Ports}}|{{.Labels}}|{{.Networks}}";
    for (const std::vector<std::string>& filter :
         std::vector<std::vector<std::string>>{{},
                                               {"-a"},
                                               {"-aq"},
                                               {"-a", "--no-trunc", "-q"},
                                               {"-n", "2"},
                                               {"-l"},
                                               {"-a", "--filter", "status=exited"},
                                               {"-a", "--filter", "exited=3"},
                                               {"-a", "--filter", "label=tier"},
                                               {"-a", "--filter", "label=tier=back"},
                                               {"-a", "--filter", "label=tier=front", "--filter", "label=team=a"},
                                               {"-a", "--filter", "label=tier=back", "--filter", "label=team=a"},
                                               {"-a", "--filter", "name=^/?(web|idle)$"},
                                               {"-a", "--filter", "ancestor=tiny"},
                                               {"-a", "--filter", "expose=8080"},
                                               {"-a", "--filter", "expose=8000-8090/tcp"},
                                               {"-a", "--filter", "status=created", "--filter", "status=running"},
                                               {"-a", "--filter", "since=web"},
                                               {"-a", "--filter", "before=idle"}}) {
        std::vector<std::string> args = {"ps"};
        args.insert(args.end(), filter.begin(), filter.end());
        same(args);
        if (std::find(filter.begin(), filter.end(), "-q") == filter.end() &&
            std::find(filter.begin(), filter.end(), "-aq") == filter.end()) {
            args.insert(args.end(), {"--format", fmt});
            same(args);
        }
    }
    // what the listings hold, beyond being equal
    EXPECT_EQ(ctl({"ps", "--format", "{{.Names}} {{.State}}"}).out, "web running\n");
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}}"}).out, "idle\njob\nweb\n");
    EXPECT_EQ(ctl({"ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}"}).out, "job\n");
    EXPECT_EQ(ctl({"ps", "-a", "--filter", "label=tier=front", "--filter", "label=team=a", "--format", "{{.Names}}"}).out,
              "web\n");
    EXPECT_EQ(ctl({"ps", "-a", "--filter", "label=tier=back", "--filter", "label=team=a", "--format", "{{.Names}}"}).out, "");
    EXPECT_EQ(ctl({"ps", "-a", "--filter", "expose=8000-8090/tcp", "--format", "{{.Names}}"}).out, "web\n");
    EXPECT_EQ(ctl({"ps", "-n", "2", "--format", "{{.Names}}"}).out, "idle\njob\n");
    // bad filters: the same refusal through both faces (ctld: 400)
    for (const char* bad : {"colour=red", "status=sleeping", "publish=eighty"}) {
        auto l = ctl({"ps", "--filter", bad}), r = rctl({"ps", "--filter", bad});
        EXPECT_NE(l.status, 0) << bad;
        EXPECT_NE(r.status, 0) << bad;
        EXPECT_EQ(docker({"ps", "--filter", bad}).status, 1) << bad;
    }
    for (const char* c : {"web", "job", "idle"}) ctl({"rm", "-f", c});
}

TEST_F(Faces, PublishFilterMatchesTheContainerPortAsDockerDoes) {
    tiny();
    ASSERT_EQ(ctl({"run", "-d", "--name", "pub", "-p", "127.0.0.1:18089:80", "tiny", "sleep", "1000"}).status, 0);
    ASSERT_EQ(ctl({"run", "-d", "--name", "exp", "--network", "none", "--expose", "80", "tiny", "sleep", "1000"}).status, 0);
    // dockerd: publish= and expose= name container ports; publish only those bound on the host
    EXPECT_EQ(ctl({"ps", "--filter", "publish=80", "--format", "{{.Names}}"}).out, "pub\n");
    EXPECT_EQ(ctl({"ps", "--filter", "publish=80/tcp", "--format", "{{.Names}}"}).out, "pub\n");
    EXPECT_EQ(ctl({"ps", "--filter", "publish=18089", "--format", "{{.Names}}"}).out, "");
    EXPECT_EQ(ctl({"ps", "--filter", "publish=80/udp", "--format", "{{.Names}}"}).out, "");
    EXPECT_EQ(ctl({"ps", "--filter", "expose=80", "--format", "{{.Names}}"}).out, "exp\npub\n");
    EXPECT_EQ(docker({"ps", "--filter", "publish=80", "--format", "{{.Names}}"}).out, "pub\n");
    same({"ps", "--filter", "publish=80"});
    for (const char* c : {"pub", "exp"}) ctl({"rm", "-f", c});
}

// Every other listing and inspection, through both faces.
TEST_F(Faces, ListingsAndInspectionsAreTheSameThroughBothFaces) {
    tiny();
    ASSERT_EQ(ctl({"tag", "tiny", "other:1"}).status, 0);
    ASSERT_EQ(ctl({"network", "create", "--subnet", "10.251.9.0/24", "--label", "k=v", "facenet"}).status, 0);
    ASSERT_EQ(ctl({"volume", "create", "--label", "k=v", "facevol"}).status, 0);
    ASSERT_EQ(ctl({"run", "-d", "--name", "fa", "--network", "facenet", "-v", "facevol:/data", "-p", "127.0.0.1:18091:80",
                   "tiny", "sleep", "1000"}).status, 0);
    ASSERT_EQ(ctl({"run", "--name", "fb", "--network", "none", "tiny", "sh", "-c", "echo out; echo err >&2"}).status, 0);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"images"},
             {"images", "-a"},
             {"images", "-q"},
             {"images", "--no-trunc"},
             {"images", "--digests"},
             {"images", "other"},
             {"images", "--filter", "reference=other:*"},
             {"images", "--filter", "dangling=false", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"},
             {"image", "ls", "--format", "json"},
             {"history", "tiny"},
             {"history", "--no-trunc", "-H=false", "tiny"},
             {"image", "inspect", "tiny"},
             {"image", "inspect", "-f", "{{.Id}} {{json .RepoTags}} {{.Config.Cmd}}", "other:1"},
             {"inspect", "-f", "{{.Name}} {{.State.Status}} {{json .HostConfig.PortBindings}}", "fa"},
             {"inspect", "-f", "{{.State.ExitCode}} {{.Config.Image}}", "fb"},
             {"port", "fa"},
             {"logs", "fb"},
             {"network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"},
             {"network", "ls", "-q", "--filter", "label=k=v"},
             {"network", "inspect", "-f", "{{.Name}} {{json .IPAM.Config}} {{json .Labels}}", "facenet"},
             {"volume", "ls"},
             {"volume", "ls", "--filter", "label=k=v", "--format", "{{.Name}} {{.Driver}}"},
             {"volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{json .Labels}}", "facevol"},
             {"system", "df"},
             {"system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"},
             {"inspect", "nosuch"},
             {"images", "--filter", "colour=red"},
             {"network", "ls", "--filter", "colour=red"},
             {"volume", "ls", "--filter", "colour=red"},
         })
        same(args);
    // a refusal names its cause through both faces
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"images", "--filter", "colour=red"}, {"network", "ls", "--filter", "colour=red"}}) {
        EXPECT_NE(ctl(args).err.find("invalid filter 'colour'"), std::string::npos) << join(args, " ");
        EXPECT_NE(rctl(args).err.find("invalid filter 'colour'"), std::string::npos) << join(args, " ") << rctl(args);
    }
    ctl({"rm", "-f", "fa", "fb"});
    ctl({"network", "rm", "facenet"});
    ctl({"volume", "rm", "facevol"});
}

// Every verb that changes something, through both faces: the same answers.
TEST_F(Faces, MutatingVerbsAnswerTheSameThroughBothFaces) {
    const std::string img = tiny(); // full references only: nothing may be looked up on Docker Hub
    ASSERT_FALSE(HasFailure());
    const std::string t = tmp();
    write_file_atomic(t + "/in_l.txt", "from the host\n");
    write_file_atomic(t + "/in_r.txt", "from the host\n");
    ASSERT_EQ(run_command({"mkdir", "-p", t + "/rootfs/etc"}).status, 0);
    write_file_atomic(t + "/rootfs/etc/motd", "imported\n");
    ASSERT_EQ(run_command({"tar", "-C", t + "/rootfs", "-cf", t + "/rootfs.tar", "."}).status, 0);
    defer([this] {
        for (const char* f : {"l", "r"}) {
            for (const char* c : {"c_", "d_", "r_", "v_", "x_"}) ctl({"rm", "-f", std::string(c) + f});
            for (const char* i : {"t_", "ci_", "im_"}) ctl({"rmi", "-f", std::string(i) + f + ":1"});
            ctl({"network", "rm", std::string("n_") + f});
            ctl({"network", "rm", std::string("pn_") + f});
            ctl({"volume", "rm", "-f", std::string("vol_") + f});
        }
    });
    std::vector<Step> steps = {
        // a container's life
        {{"create", "--name", "c_@", "--network", "none", img, "sleep", "1000"}, true, "<id>\n"},
        {{"start", "c_@"}, true, "c_l\n"},
        {{"pause", "c_@"}, true, "c_l\n"},
        {{"unpause", "c_@"}, true, "c_l\n"},
        {{"exec", "c_@", "sh", "-c", "echo out; echo err >&2; exit 3"}, true, "out\n"},
        {{"exec", "-e", "A=1", "-w", "/tmp", "c_@", "sh", "-c", "echo $A $PWD"}, true, "1 /tmp\n"},
        {{"top", "c_@", "-o", "comm"}, true},
        {{"port", "c_@"}, true},
        {{"cp", t + "/in_@.txt", "c_@:/tmp/in.txt"}, true},
        {{"exec", "c_@", "cat", "/tmp/in.txt"}, true, "from the host\n"},
        {{"cp", "c_@:/tmp/in.txt", t + "/out_@.txt"}, true},
        {{"cp", "c_@:/etc", t + "/etc_@"}, true},
        {{"commit", "-m", "msg", "-c", "ENV K=v", "c_@", "ci_@:1"}, true},
        {{"image", "inspect", "-f", "{{.Comment}} {{.Config.Env}} {{json .RepoTags}}", "ci_@:1"}, true},
        {{"rmi", "ci_@:1"}, true},
        {{"rename", "c_@", "d_@"}, true},
        {{"stop", "-t", "1", "d_@"}, true, "d_l\n"},
        {{"restart", "-t", "1", "d_@"}, true, "d_l\n"},
        {{"kill", "-s", "KILL", "d_@"}, true, "d_l\n"},
        {{"wait", "d_@"}, true, "137\n"},
        {{"rm", "d_@"}, true, "d_l\n"},
        // run, detached and attached
        {{"run", "-d", "--name", "r_@", "--network", "none", img, "sleep", "1000"}, true, "<id>\n"},
        {{"rm", "-f", "r_@"}, true, "r_l\n"},
        {{"run", "--rm", "--network", "none", img, "sh", "-c", "echo out; echo err >&2; exit 4"}, true, "out\n"},
        {{"run", "--name", "v_@", "--network", "none", "-v", "/data", img, "true"}, true},
        {{"rm", "-v", "v_@"}, true, "v_l\n"},
        {{"run", "--name", "x_@", "--network", "none", "-v", "/data", img, "true"}, true},
        {{"rm", "x_@"}, true},
        {{"volume", "prune", "-f"}, true},
        {{"container", "prune", "-f"}, true},
        // images
        {{"pull", "-q", registry() + "/tiny:latest"}, true, registry() + "/tiny:latest\n"},
        {{"tag", img, "t_@:1"}, true},
        {{"save", "-o", t + "/t_@.tar", "t_@:1"}, true},
        {{"rmi", "t_@:1"}, true},
        {{"load", "-i", t + "/t_@.tar"}, true, "Loaded image: t_l:1\n"},
        {{"rmi", "t_@:1"}, true},
        {{"import", "-m", "m", t + "/rootfs.tar", "im_@:1"}, true},
        {{"rmi", "im_@:1"}, true},
        {{"image", "prune", "-f"}, true},
        // networks and volumes
        {{"network", "create", "--subnet", "10.251.2#.0/24", "--label", "k=v", "n_@"}, true, "<id>\n"},
        {{"run", "-d", "--name", "c_@", "--network", "none", img, "sleep", "1000"}, true},
        {{"network", "connect", "--alias", "al", "n_@", "c_@"}, true},
        {{"inspect", "-f", "{{json .NetworkSettings.Networks.n_@.Aliases}}", "c_@"}, true},
        {{"network", "disconnect", "n_@", "c_@"}, true},
        {{"rm", "-f", "c_@"}, true},
        {{"network", "rm", "n_@"}, true, "n_l\n"},
        {{"network", "create", "pn_@"}, true},
        {{"network", "prune", "-f"}, true, "Deleted Networks:\npn_l\n"},
        {{"volume", "create", "--label", "k=v", "vol_@"}, true, "vol_l\n"},
        {{"volume", "rm", "vol_@"}, true, "vol_l\n"},
        // refusals
        {{"start", "nosuch_@"}, true},
        {{"stop", "nosuch_@"}, true},
        {{"rm", "nosuch_@"}, true},
        {{"rmi", "nosuch_@:1"}, true},
        {{"exec", "nosuch_@", "true"}, true},
        {{"wait", "nosuch_@"}, true},
        {{"rename", "nosuch_@", "other_@"}, true},
        {{"kill", "-s", "NOSUCHSIG", "nosuch_@"}, true},
        {{"logs", "--since", "yesterday-ish", "nosuch_@"}, true},
        {{"network", "rm", "nosuch_@"}, true},
        {{"volume", "rm", "nosuch_@"}, true},
        {{"volume", "rm", "-f", "nosuch_@"}, true, "nosuch_l\n"},
        {{"volume", "create", "-d", "nfs", "vol_@"}, true},
        {{"network", "create", "-d", "overlay", "n_@"}, true},
        {{"tag", "nosuch_@", "t_@:1"}, true},
        {{"commit", "nosuch_@", "ci_@:1"}, true},
        {{"run", "--network", "none", registry() + "/nosuch_@:1"}, false},
        {{"run", "--network", "none", "-p", "notaport", img, "true"}, true},
        {{"run", "--network", "none", "--memory", "lots", img, "true"}, true},
        {{"run", "--network", "none", "-v", "relative:path:rw:bad", img, "true"}, true},
        {{"create", "--network", "none", "--restart", "sometimes", img, "true"}, true},
        {{"network", "create", "--subnet", "notacidr", "n_@"}, true},
        {{"network", "connect", "nosuch_@", "nosuch_@"}, true},
        {{"stop", "-t", "soon", "nosuch_@"}, true},
    };
    same_through_both(steps);
    // cp copied the same bytes both ways through both faces
    EXPECT_EQ(read_file(t + "/out_l.txt"), "from the host\n");
    EXPECT_EQ(read_file(t + "/out_r.txt"), "from the host\n");
    EXPECT_EQ(run_command({"diff", "-r", t + "/etc_l", t + "/etc_r"}).status, 0);
}

TEST_F(Faces, DiffAndExportAreTheSameThroughBothFaces) {
    const std::string img = tiny();
    ASSERT_FALSE(HasFailure());
    const std::string t = tmp();
    defer([this] {
        for (const char* c : {"c_l", "c_r", "e_l", "e_r"}) ctl({"rm", "-f", c});
    });
    std::vector<Step> steps = {
        {{"run", "--name", "c_@", "--network", "none", img, "sh", "-c",
          "echo hi > /etc/motd; rm /bin/ls; mkdir /tmp/d; echo f > /tmp/d/f"}, true},
        {{"diff", "c_@"}, true, "C /bin\nD /bin/ls\nC /etc\nA /etc/motd\nC /tmp\nA /tmp/d\nA /tmp/d/f\n"},
        {{"container", "diff", "c_@"}, true, "C /bin\nD /bin/ls\nC /etc\nA /etc/motd\nC /tmp\nA /tmp/d\nA /tmp/d/f\n"},
        {{"export", "-o", t + "/c_@.tar", "c_@"}, true},
        {{"create", "--name", "e_@", "--network", "none", img, "true"}, true, "<id>\n"},
        {{"diff", "e_@"}, true},
        {{"container", "export", "--output", t + "/e_@.tar", "e_@"}, true},
        {{"diff", "nosuch_@"}, true},
        {{"export", "-o", t + "/n_@.tar", "nosuch_@"}, true},
    };
    same_through_both(steps);
    EXPECT_EQ(ctl({"diff", "e_l"}).out, ""); // a new container has no changes
    auto listing = [&](const std::string& tar) { return run_command({"tar", "-tf", tar}).out; };
    std::string c = listing(t + "/c_l.tar");
    EXPECT_EQ(c, listing(t + "/c_r.tar"));
    EXPECT_EQ(listing(t + "/e_l.tar"), listing(t + "/e_r.tar"));
    EXPECT_NE(c.find("\netc/motd\n"), std::string::npos) << c;
    EXPECT_EQ(c.find("\nbin/ls\n"), std::string::npos) << c;
    EXPECT_NE(listing(t + "/e_l.tar").find("\nbin/ls\n"), std::string::npos);
    // -o writes by a temp name: nothing is left for a missing container
    EXPECT_EQ(run_command({"sh", "-c", "ls " + t + " | grep -c 'n_\\|tmp-'"}).out, "0\n");
}

} // namespace
} // namespace ctk::test
