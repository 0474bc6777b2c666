#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/fs.hpp"
#include "engine/container_model.hpp"
#include "engine/container_store.hpp"

using namespace ctk;
using namespace ctk::engine;

TEST(NetworkModeTest, DefaultAndBridgeAreTheDefaultNetwork) {
    for (const char* s : {"", "default", "bridge"}) {
        NetworkMode m = NetworkMode::parse(s);
        EXPECT_TRUE(m.is_default()) << s;
        EXPECT_TRUE(m.attaches()) << s;
        EXPECT_FALSE(m.is_user() || m.is_host() || m.is_none() || m.is_container()) << s;
        EXPECT_EQ(m.network_name(), "bridge") << s;
        EXPECT_EQ(m.container(), "") << s;
    }
    EXPECT_EQ(NetworkMode::parse("").str(), "default");
    EXPECT_EQ(NetworkMode().str(), "default");
    EXPECT_EQ(NetworkMode::parse("bridge").str(), "bridge"); // kept as written
}

TEST(NetworkModeTest, HostNoneAndContainerHaveNoNetworkOfTheirOwn) {
    NetworkMode h = NetworkMode::parse("host"), n = NetworkMode::parse("none"), c = NetworkMode::parse("container:web");
    EXPECT_TRUE(h.is_host());
    EXPECT_TRUE(n.is_none());
    EXPECT_TRUE(c.is_container());
    for (const auto& m : {h, n, c}) {
        EXPECT_FALSE(m.attaches()) << m.str();
        EXPECT_EQ(m.network_name(), "") << m.str();
    }
    EXPECT_EQ(c.container(), "web");
    EXPECT_EQ(c.str(), "container:web");
    EXPECT_EQ(h.container(), "");
}

TEST(NetworkModeTest, AnyOtherNameIsAUserNetwork) {
    for (const char* s : {"n1", "hosts", "nonet", "my-container:x"}) {
        NetworkMode m = NetworkMode::parse(s);
        EXPECT_TRUE(m.is_user()) << s;
        EXPECT_TRUE(m.attaches()) << s;
        EXPECT_EQ(m.network_name(), s);
        EXPECT_EQ(m.str(), s);
    }
}

TEST(PortBindingsTest, ParsedOnceIntoPublishSpecs) {
    Json j = Json::parse(R"({"80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "::1", "HostPort": ""}],
                             "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]})");
    PortBindings p = PortBindings::from_json(j);
    ASSERT_EQ(p.ports.size(), 2u);
    EXPECT_EQ(p.ports["80/tcp"][1], (PortBinding{"::1", ""}));
    EXPECT_EQ(p.to_json(), j);
    EXPECT_EQ(p.publish_specs(), (std::vector<std::string>{"127.0.0.1:5353:53/udp", "8080:80", "[::1]:80:80"}));
    EXPECT_EQ(split_port_key("80"), (std::pair<std::string, std::string>{"80", "tcp"}));
    EXPECT_TRUE(PortBindings::from_json(nullptr).empty());
}

TEST(HostConfigTest, ARecordRoundTripsUnchangedWithItsUnknownKeys) {
    // the shape Engine::prepare_record writes, plus keys ctk does not know
    Json j = Json::parse(R"({
        "Binds": ["/data:/data:ro"], "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": "container:web", "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": true, "VolumeDriver": "",
        "VolumesFrom": null, "CapAdd": ["CAP_NET_ADMIN"], "CapDrop": null, "CgroupnsMode": "host",
        "Dns": ["10.0.0.2"], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": null, "GroupAdd": null,
        "IpcMode": "private", "Cgroup": "", "Links": null, "OomScoreAdj": 0, "PidMode": "", "Devices": [],
        "Privileged": false, "PublishAllPorts": false, "ReadonlyRootfs": false, "SecurityOpt": null,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "ns-run", "ConsoleSize": [0, 0],
        "Isolation": "", "CpuShares": 0, "Memory": 67108864, "NanoCpus": 500000000, "CgroupParent": "",
        "CpuPeriod": 0, "CpuQuota": 0, "MemorySwap": 0, "PidsLimit": null, "Ulimits": null, "Init": null,
        "Tmpfs": {"/run": "size=1m"}, "MaskedPaths": ["/proc/kcore"], "ReadonlyPaths": ["/proc/sys"],
        "SomethingNewer": {"x": 1}})");
    HostConfig h = HostConfig::from_json(j);
    EXPECT_EQ(h.network_mode.container(), "web");
    EXPECT_EQ(*h.binds, std::vector<std::string>{"/data:/data:ro"});
    EXPECT_FALSE(h.cap_drop);
    EXPECT_EQ(h.dns, std::vector<std::string>{"10.0.0.2"});
    EXPECT_TRUE(h.auto_remove);
    EXPECT_EQ(h.memory, 67108864);
    EXPECT_FALSE(h.pids_limit);
    EXPECT_EQ(h.extra["SomethingNewer"], Json::parse(R"({"x": 1})"));
    EXPECT_EQ(h.to_json(), j);
    EXPECT_EQ(h.to_json().dump(), j.dump());
}

TEST(HostConfigTest, MissingAndMistypedFieldsReadAsDefaults) {
    HostConfig h = HostConfig::from_json(Json::parse(R"({"Memory": "lots", "Dns": null, "NetworkMode": 3})"));
    EXPECT_EQ(h.memory, 0);
    EXPECT_TRUE(h.dns.empty());
    EXPECT_TRUE(h.network_mode.is_default());
    EXPECT_TRUE(HostConfig::from_json(nullptr).port_bindings.empty());
}

TEST(PortBindingsTest, AWrongShapeIsRefusedNotReadAsNoPorts) {
    for (const char* bad : {R"([1])", R"({"80/tcp": [1]})", R"({"80/tcp": {"HostPort": "1"}})",
                            R"({"80/tcp": [{"HostPort": 8080}]})"})
        EXPECT_THROW(PortBindings::from_json(Json::parse(bad)), ctk::Error) << bad;
    EXPECT_TRUE(PortBindings::from_json(Json::parse(R"({"80/tcp": null})")).ports.at("80/tcp").empty());
}

TEST(ContainerConfigTest, ARecordRoundTripsUnchangedWithItsUnknownKeys) {
    // the shape Engine::prepare_record writes (docker_container_config of the image, then the request)
    Json j = Json::parse(R"({
        "Hostname": "box", "Domainname": "", "User": "1000:1000", "AttachStdin": false, "AttachStdout": true,
        "AttachStderr": true, "ExposedPorts": {"80/tcp": {}, "53/udp": {}}, "Tty": true, "OpenStdin": false,
        "StdinOnce": false, "Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "Image": "127.0.0.1:5000/tiny",
        "Volumes": null, "WorkingDir": "/w", "Entrypoint": null, "OnBuild": null,
        "Labels": {"a": "1"}, "StopSignal": "SIGQUIT", "StopTimeout": 3, "Healthcheck": {"Test": ["NONE"]}})");
    ContainerConfig c = ContainerConfig::from_json(j);
    EXPECT_EQ(c.hostname, "box");
    EXPECT_TRUE(c.tty);
    EXPECT_EQ(*c.exposed_ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
    EXPECT_EQ(c.labels->at("a"), "1");
    EXPECT_EQ(*c.stop_signal, "SIGQUIT");
    EXPECT_EQ(*c.stop_timeout, 3);
    EXPECT_EQ(c.extra["Cmd"], Json::array({"sh"}));
    EXPECT_EQ(c.to_json().dump(), j.dump());
    // absent stays absent, null stays null
    Json bare = Json::parse(R"({"Hostname": "", "Domainname": "", "User": "", "Image": "", "WorkingDir": "",
                               "Tty": false, "Env": null, "Labels": null})");
    ContainerConfig b = ContainerConfig::from_json(bare);
    EXPECT_FALSE(b.stop_signal);
    EXPECT_FALSE(b.exposed_ports);
    EXPECT_EQ(b.to_json().dump(), bare.dump());
}

// container.json as ctl wrote it before the record's sections were typed (ctl create --network none
// -m 64m --memory-swap 128m --cpus 0.5 --pids-limit 100 --ulimit ... --read-only ..., the store's
// path replaced): it loads, and each section is written back byte for byte.
constexpr const char* earlier_record = R"JSON({"AppArmorProfile":"","Args":["-c","true"],"Config":{"AttachStderr":true,"AttachStdin":false,"AttachStdout":true,"Cmd":["sh","-c","true"],"Domainname":"","Entrypoint":null,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"Hostname":"hh","Image":"127.0.0.1:5000/tiny:latest","Labels":{"org.opencontainers.image.title":"ctk tiny fixture"},"OnBuild":null,"OpenStdin":false,"StdinOnce":false,"Tty":true,"User":"1:2","Volumes":null,"WorkingDir":"/tmp"},"Created":"2026-12-07T20:36:49.297403356Z","Ctk":{"AnonymousVolumes":{},"Bundle":"/var/lib/ctk/containers/4bdec94f33d50cb6f95f073a0206eef5322ec12e3201162aab941e49b9441912/bundle","Endpoints":{},"ImageRef":"127.0.0.1:5000/tiny:latest","Mode":"overlay","Netns":"","Networks":[],"Setup":"ready"},"Driver":"overlay","HostConfig":{"AutoRemove":false,"Binds":null,"CapAdd":["CAP_NET_ADMIN"],"CapDrop":["CAP_MKNOD"],"Cgroup":"","CgroupParent":"ctkparent","CgroupnsMode":"host","ConsoleSize":[0,0],"ContainerIDFile":"","CpuPeriod":0,"CpuQuota":0,"CpuShares":0,"Devices":[],"Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":["x:1.2.3.4"],"GroupAdd":["10","4"],"Init":null,"IpcMode":"private","Isolation":"","Links":null,"LogConfig":{"Config":{},"Type":"json-file"},"MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"],"Memory":67108864,"MemorySwap":134217728,"NanoCpus":500000000,"NetworkMode":"none","OomScoreAdj":0,"PidMode":"","PidsLimit":100,"PortBindings":{},"Privileged":false,"PublishAllPorts":false,"ReadonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"],"ReadonlyRootfs":true,"RestartPolicy":{"MaximumRetryCount":0,"Name":"no"},"Runtime":"ns-run","SecurityOpt":["no-new-privileges"],"ShmSize":67108864,"Sysctls":{"net.ipv4.ip_forward":"1"},"UTSMode":"","Ulimits":[{"Hard":1024,"Name":"nofile","Soft":512},{"Hard":40,"Name":"nproc","Soft":30}],"UsernsMode":"","VolumeDriver":"","VolumesFrom":null},"HostnamePath":"/var/lib/ctk/containers/4bdec94f33d50cb6f95f073a0206eef5322ec12e3201162aab941e49b9441912/hostname","HostsPath":"/var/lib/ctk/containers/4bdec94f33d50cb6f95f073a0206eef5322ec12e3201162aab941e49b9441912/hosts","Id":"4bdec94f33d50cb6f95f073a0206eef5322ec12e3201162aab941e49b9441912","Image":"sha256:ba84b042a97fff13cf3e886ac2987328aa38e851ae2d739d1f902e724f8bc40e","LogPath":"/var/lib/ctk/containers/4bdec94f33d50cb6f95f073a0206eef5322ec12e3201162aab941e49b9441912/4bdec94f33d50cb6f95f073a0206eef5322ec12e3201162aab941e49b9441912-json.log","MountLabel":"","Name":"/ma","Path":"sh","Platform":"linux","ProcessLabel":"","ResolvConfPath":"/var/lib/ctk/containers/4bdec94f33d50cb6f95f073a0206eef5322ec12e3201162aab941e49b9441912/resolv.conf","RestartCount":0})JSON";

TEST(CtkSectionTest, ARecordOfAnEarlierBuildLoadsAndIsWrittenBackUnchanged) {
    TempDir dir{"oldrec"};
    store::Paths paths{dir.path() + "/root", dir.path() + "/run"};
    Json old = Json::parse(earlier_record);
    std::string id = old["Id"];
    make_dirs(paths.container(id));
    write_file_atomic(paths.container(id) + "/container.json", earlier_record);
    ContainerStore store(paths);
    ContainerRecord r = store.lookup("ma");
    EXPECT_EQ(r.id, id);
    CtkSection ctk = CtkSection::from_json(r.ctk());
    EXPECT_EQ(*ctk.setup, "ready");
    EXPECT_EQ(*ctk.image_ref, "127.0.0.1:5000/tiny:latest");
    EXPECT_EQ(*ctk.mode, "overlay");
    EXPECT_TRUE(ctk.networks->empty());
    EXPECT_EQ(*ctk.netns, "");
    EXPECT_EQ(*ctk.bundle, "/var/lib/ctk/containers/" + id + "/bundle");
    EXPECT_TRUE(ctk.anonymous_volumes->empty());
    EXPECT_FALSE(ctk.join_netns);
    EXPECT_FALSE(ctk.last_exit);
    EXPECT_EQ(ctk.to_json().dump(), old["Ctk"].dump());
    HostConfig h = HostConfig::from_json(r.doc["HostConfig"]);
    EXPECT_TRUE(h.network_mode.is_none());
    EXPECT_EQ(h.memory, 67108864);
    EXPECT_EQ(h.to_json().dump(), old["HostConfig"].dump());
    ContainerConfig cfg = ContainerConfig::from_json(r.doc["Config"]);
    EXPECT_EQ(cfg.to_json().dump(), old["Config"].dump());
    // the whole record, its sections replaced by their typed forms, is the same document
    Json again = r.doc;
    again["Ctk"] = ctk.to_json();
    again["HostConfig"] = h.to_json();
    again["Config"] = cfg.to_json();
    EXPECT_EQ(again.dump(), old.dump());
}

TEST(CtkSectionTest, EveryFieldAndUnknownKeysRoundTrip) {
    // older builds wrote no Mode and no AnonymousVolumes; a newer one may add keys
    for (const char* text : {
             R"({"Setup":"creating","ImageRef":"127.0.0.1:5000/tiny:latest","Networks":["n1","bridge"],
                 "Endpoints":{"n1":{"Aliases":["web"],"IPAMConfig":{"IPv4Address":"10.77.0.9"}}},
                 "Bundle":"/s/c/x/bundle","Netns":"/run/ctk/netns/x"})",
             R"({"Setup":"ready","Mode":"overlay","Networks":[],"Endpoints":{},"AnonymousVolumes":{"/data":"0a1b"},
                 "JoinNetns":"/proc/42/ns/net","LastExit":{"ExitCode":3,"FinishedAt":"2026-12-07T20:00:00.5Z"},
                 "Bundle":"/b","Netns":"","Healthcheck":{"Failing":2},"Later":[1,2]})",
             R"({})"}) {
        Json j = Json::parse(text);
        CtkSection c = CtkSection::from_json(j);
        EXPECT_EQ(c.to_json().dump(), j.dump()) << text;
    }
    CtkSection c = CtkSection::from_json(Json::parse(
        R"({"AnonymousVolumes":{"/data":"0a1b"},"JoinNetns":"/proc/42/ns/net","LastExit":{"ExitCode":3,"FinishedAt":"t"},"Later":1})"));
    EXPECT_EQ(c.anonymous_volumes->at("/data"), "0a1b");
    EXPECT_EQ(*c.join_netns, "/proc/42/ns/net");
    EXPECT_EQ(c.last_exit->exit_code, 3);
    EXPECT_EQ(c.last_exit->finished_at, "t");
    EXPECT_EQ(c.extra["Later"], 1);
    EXPECT_FALSE(c.setup);
    // an exit status of 0 is written, not dropped as empty
    c.last_exit = LastExit{0, "", "t2", Json::object()};
    EXPECT_EQ(c.to_json()["LastExit"].dump(), R"({"ExitCode":0,"FinishedAt":"t2"})");
    try {
        CtkSection::from_json(Json::parse(R"({"Networks":"n1"})"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("Networks"), std::string::npos) << e.what();
    }
}

TEST(NetworkSettingsTest, DockerInspectShape) {
    NetworkSettings ns;
    ns.sandbox_key = "/run/ctk/netns/abc";
    ns.sandbox_id = "abc";
    ns.ports = Json::parse(R"({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]})");
    ns.ip_address = "172.17.0.2";
    ns.ip_prefix_len = 16;
    EndpointSettings& e = ns.networks["bridge"];
    e.ip_address = "172.17.0.2";
    e.ip_prefix_len = 16;
    e.gateway = "172.17.0.1";
    e.aliases = Json::array({"web"});
    ns.networks["none"] = EndpointSettings{};
    Json j = ns.to_json();
    Json want = Json::parse(R"({
        "Bridge": "", "SandboxID": "abc", "HairpinMode": false, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}, "SandboxKey": "/run/ctk/netns/abc",
        "SecondaryIPAddresses": null, "SecondaryIPv6Addresses": null, "EndpointID": "", "Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "172.17.0.2", "IPPrefixLen": 16,
        "IPv6Gateway": "", "MacAddress": "",
        "Networks": {
          "bridge": {"IPAMConfig": null, "Links": null, "Aliases": ["web"], "NetworkID": "", "EndpointID": "",
                     "Gateway": "172.17.0.1", "IPAddress": "172.17.0.2", "IPPrefixLen": 16, "IPv6Gateway": "",
                     "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null},
          "none": {"IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "", "EndpointID": "",
                   "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                   "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null}}})");
    EXPECT_EQ(j, want) << j.dump(2);
    // an endpoint read back keeps what it does not know
    Json ep = want["Networks"]["bridge"];
    ep["DNSNames"] = Json::array({"web"});
    EXPECT_EQ(EndpointSettings::from_json(ep).to_json(), ep);
}
