// One implementation, two faces: a listing asked of the local store (ctl) and
// of a ctld over the same store (ctl -H) prints the same bytes, and the
// daemon's answer is the engine's list as the docker CLI reads it.
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

} // namespace
} // namespace ctk::test
