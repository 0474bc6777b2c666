// Docker's -v, --mount and --tmpfs grammar: every accepted form and every reject.
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/json.hpp"
#include "volume/spec.hpp"

using namespace ctk;
using namespace ctk::volume;

namespace {

// The message of the invalid-input error `f` throws ("" when it does not throw).
template <typename F> std::string reject(F f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "accepted";
    return "";
}

std::string rejectv(const std::string& s) { return reject([&] { parse_volume_flag(s); }); }
std::string rejectm(const std::string& s) { return reject([&] { parse_mount_flag(s); }); }
std::string rejectt(const std::string& s) { return reject([&] { parse_tmpfs_flag(s); }); }

std::string cwd() {
    char b[4096];
    return ::getcwd(b, sizeof b) ? b : "";
}

} // namespace

TEST(VolumeFlag, NamedVolume) {
    auto m = parse_volume_flag("data:/var/lib/data");
    EXPECT_EQ(m.type, MountType::volume);
    EXPECT_EQ(m.source, "data");
    EXPECT_EQ(m.target, "/var/lib/data");
    EXPECT_FALSE(m.readonly);
    EXPECT_FALSE(m.nocopy);
    EXPECT_EQ(m.flag, "-v");
}

TEST(VolumeFlag, NamedVolumeModes) {
    EXPECT_TRUE(parse_volume_flag("data:/d:ro").readonly);
    EXPECT_FALSE(parse_volume_flag("data:/d:rw").readonly);
    auto m = parse_volume_flag("data:/d:ro,nocopy");
    EXPECT_TRUE(m.readonly);
    EXPECT_TRUE(m.nocopy);
    // SELinux labels and macOS consistency modes are accepted and have no effect.
    EXPECT_TRUE(parse_volume_flag("data:/d:ro,z").readonly);
    EXPECT_TRUE(parse_volume_flag("data:/d:Z,ro").readonly);
    EXPECT_FALSE(parse_volume_flag("data:/d:cached").readonly);
    EXPECT_FALSE(parse_volume_flag("data:/d:delegated,z").readonly);
}

TEST(VolumeFlag, AnonymousVolume) {
    auto m = parse_volume_flag("/cache");
    EXPECT_EQ(m.type, MountType::volume);
    EXPECT_EQ(m.source, "");
    EXPECT_EQ(m.target, "/cache");
}

TEST(VolumeFlag, BindMount) {
    auto m = parse_volume_flag("/srv/www:/usr/share/www");
    EXPECT_EQ(m.type, MountType::bind);
    EXPECT_EQ(m.source, "/srv/www");
    EXPECT_EQ(m.target, "/usr/share/www");
    EXPECT_TRUE(m.create_source) << "-v makes a missing host directory";
    EXPECT_EQ(m.propagation, "");
}

TEST(VolumeFlag, BindModesAndPropagation) {
    for (const char* p : {"shared", "rshared", "slave", "rslave", "private", "rprivate"}) {
        auto m = parse_volume_flag(std::string("/a:/b:ro,") + p);
        EXPECT_TRUE(m.readonly);
        EXPECT_EQ(m.propagation, p);
        EXPECT_EQ(parse_volume_flag(std::string("/a:/b:") + p).propagation, p);
    }
    auto m = parse_volume_flag("/a:/b:rslave,ro,z");
    EXPECT_TRUE(m.readonly);
    EXPECT_EQ(m.propagation, "rslave");
}

TEST(VolumeFlag, PathsAreCleaned) {
    auto m = parse_volume_flag("/srv//a/../b/:/data/./x/");
    EXPECT_EQ(m.source, "/srv/b");
    EXPECT_EQ(m.target, "/data/x");
}

TEST(VolumeFlag, RelativeHostPathIsMadeAbsolute) {
    // As the docker CLI (23+) does for "./x" and "../x".
    auto m = parse_volume_flag("./data:/d");
    EXPECT_EQ(m.type, MountType::bind);
    EXPECT_EQ(m.source, clean_path(cwd() + "/data"));
    EXPECT_EQ(parse_volume_flag("../up:/d").source, clean_path(cwd() + "/../up"));
}

TEST(VolumeFlag, Rejects) {
    EXPECT_EQ(rejectv(""), "invalid volume specification: ''");
    EXPECT_EQ(rejectv(":/x"), "invalid volume specification: ':/x'");
    EXPECT_EQ(rejectv("/a:/b:ro:extra"), "invalid volume specification: '/a:/b:ro:extra'");
    EXPECT_NE(rejectv("a::/b").find("empty section"), std::string::npos);
    EXPECT_NE(rejectv("/a:/b:").find("empty section"), std::string::npos);
    // A destination with a mode but no source.
    EXPECT_EQ(rejectv("/x:ro"), "invalid volume specification: '/x:ro'");
    EXPECT_EQ(rejectv("/x:rw,z"), "invalid volume specification: '/x:rw,z'");
    // Modes: unknown words, and two of one kind.
    EXPECT_EQ(rejectv("/a:/b:bogus"), "invalid volume specification: '/a:/b:bogus': invalid mode: bogus");
    EXPECT_EQ(rejectv("/a:/b:rw,ro"), "invalid volume specification: '/a:/b:rw,ro': invalid mode: rw,ro");
    EXPECT_NE(rejectv("/a:/b:shared,rslave").find("invalid mode"), std::string::npos);
    EXPECT_NE(rejectv("/a:/b:z,Z").find("invalid mode"), std::string::npos);
    EXPECT_NE(rejectv("/a:/b:ro,ro").find("invalid mode"), std::string::npos);
    EXPECT_NE(rejectv("/a:/b:nocopy,nocopy").find("invalid mode"), std::string::npos);
    EXPECT_NE(rejectv("/a:/b:cached,delegated").find("invalid mode"), std::string::npos);
    // Container path.
    EXPECT_EQ(rejectv("data:relative"),
              "invalid volume specification: 'data:relative': invalid mount config for type \"volume\": "
              "invalid mount path: 'relative' mount path must be absolute");
    EXPECT_EQ(rejectv("relative"),
              "invalid volume specification: 'relative': invalid mount config for type \"volume\": "
              "invalid mount path: 'relative' mount path must be absolute");
    EXPECT_EQ(rejectv("/a:/"), "invalid volume specification: '/a:/': invalid specification: destination can't be '/'");
    EXPECT_NE(rejectv("data:/x/..").find("destination can't be '/'"), std::string::npos);
    // Options of the wrong type.
    EXPECT_EQ(rejectv("data:/x:rshared"),
              "invalid volume specification: 'data:/x:rshared': invalid mount config for type \"volume\": "
              "field BindOptions must not be specified");
    EXPECT_EQ(rejectv("/a:/x:nocopy"),
              "invalid volume specification: '/a:/x:nocopy': invalid mount config for type \"bind\": "
              "field VolumeOptions must not be specified");
}

TEST(VolumeFlag, RejectsBadVolumeNames) {
    EXPECT_EQ(rejectv("a:/x"), "invalid volume specification: 'a:/x': volume name is too short, names should be at "
                               "least two alphanumeric characters");
    for (const char* bad : {"-a:/x", "_a:/x", "a b:/x", "a/b:/x", "~/x:/y", "na$me:/x", "ä1:/x"}) {
        std::string msg = rejectv(bad);
        EXPECT_NE(msg.find("includes invalid characters for a local volume name"), std::string::npos) << bad;
    }
    for (const char* good : {"ab", "a1", "1a", "a.b-c_d", "Data.V1"}) EXPECT_TRUE(valid_volume_name(good)) << good;
    EXPECT_FALSE(valid_volume_name("a"));
    EXPECT_FALSE(valid_volume_name(".ab"));
}

TEST(MountFlag, Volume) {
    auto m = parse_mount_flag("type=volume,source=data,target=/d,readonly,volume-nocopy,"
                              "volume-label=a=b,volume-label=c,volume-opt=type=tmpfs,"
                              "volume-opt=device=tmpfs,volume-driver=local");
    EXPECT_EQ(m.type, MountType::volume);
    EXPECT_EQ(m.source, "data");
    EXPECT_EQ(m.target, "/d");
    EXPECT_TRUE(m.readonly);
    EXPECT_TRUE(m.nocopy);
    EXPECT_EQ(m.volume_labels, (std::map<std::string, std::string>{{"a", "b"}, {"c", ""}}));
    EXPECT_EQ(m.volume_options, (std::map<std::string, std::string>{{"type", "tmpfs"}, {"device", "tmpfs"}}));
    EXPECT_EQ(m.flag, "--mount");
}

TEST(MountFlag, DefaultsAndAliases) {
    auto m = parse_mount_flag("src=data,dst=/d");
    EXPECT_EQ(m.type, MountType::volume) << "type defaults to volume";
    EXPECT_EQ(m.source, "data");
    EXPECT_EQ(parse_mount_flag("destination=/d").target, "/d");
    EXPECT_EQ(parse_mount_flag("target=/d").source, "") << "anonymous";
    EXPECT_TRUE(parse_mount_flag("type=volume,src=v1,dst=/d,ro").readonly);
    EXPECT_TRUE(parse_mount_flag("type=volume,src=v1,dst=/d,readonly=true").readonly);
    EXPECT_TRUE(parse_mount_flag("type=volume,src=v1,dst=/d,ro=1").readonly);
    EXPECT_FALSE(parse_mount_flag("type=volume,src=v1,dst=/d,readonly=false").readonly);
    EXPECT_TRUE(parse_mount_flag("TYPE=Volume,SRC=v1,Target=/d,ReadOnly").readonly) << "keys are case-insensitive";
    EXPECT_TRUE(parse_mount_flag("src=v1,dst=/d,volume-nocopy=true").nocopy);
    EXPECT_FALSE(parse_mount_flag("src=v1,dst=/d,consistency=cached").readonly);
}

TEST(MountFlag, Bind) {
    auto m = parse_mount_flag("type=bind,source=/srv/a,target=/a,readonly,bind-propagation=rslave");
    EXPECT_EQ(m.type, MountType::bind);
    EXPECT_EQ(m.source, "/srv/a");
    EXPECT_TRUE(m.readonly);
    EXPECT_EQ(m.propagation, "rslave");
    EXPECT_FALSE(m.create_source) << "--mount refuses a missing bind source";
    EXPECT_TRUE(parse_mount_flag("type=bind,src=/a,dst=/b,bind-nonrecursive").nonrecursive);
    EXPECT_TRUE(parse_mount_flag("type=bind,src=/a,dst=/b,bind-nonrecursive=true").nonrecursive);
    EXPECT_TRUE(parse_mount_flag("type=bind,src=/a,dst=/b,bind-recursive=disabled").nonrecursive);
    auto w = parse_mount_flag("type=bind,src=/a,dst=/b,ro,bind-recursive=writable");
    EXPECT_TRUE(w.readonly);
    EXPECT_TRUE(w.readonly_nonrecursive);
    EXPECT_EQ(parse_mount_flag("type=bind,src=./x,dst=/b").source, clean_path(cwd() + "/x"));
    EXPECT_EQ(parse_mount_flag("type=bind,src=.,dst=/b").source, clean_path(cwd()));
}

TEST(MountFlag, QuotedFields) {
    auto m = parse_mount_flag("type=bind,\"source=/srv/a,b\",target=/x");
    EXPECT_EQ(m.source, "/srv/a,b");
    EXPECT_EQ(parse_mount_flag("type=bind,\"src=/a\"\"q\",dst=/x").source, "/a\"q");
}

TEST(MountFlag, Tmpfs) {
    auto m = parse_mount_flag("type=tmpfs,target=/run,tmpfs-size=64m,tmpfs-mode=1777");
    EXPECT_EQ(m.type, MountType::tmpfs);
    EXPECT_EQ(m.tmpfs_options, (std::vector<std::string>{"mode=1777", "size=64m"}));
    EXPECT_EQ(parse_mount_flag("type=tmpfs,dst=/t,tmpfs-size=1GiB").tmpfs_options,
              (std::vector<std::string>{"size=1g"}));
    EXPECT_EQ(parse_mount_flag("type=tmpfs,dst=/t,tmpfs-size=1000").tmpfs_options,
              (std::vector<std::string>{"size=1000"}));
    EXPECT_EQ(parse_mount_flag("type=tmpfs,dst=/t,tmpfs-size=1.5k").tmpfs_options,
              (std::vector<std::string>{"size=1536"}));
    EXPECT_EQ(parse_mount_flag("type=tmpfs,dst=/t,readonly").tmpfs_options, (std::vector<std::string>{"ro"}));
}

TEST(MountFlag, Rejects) {
    EXPECT_EQ(rejectm("type=volume,src=v1"), "--mount 'type=volume,src=v1': target is required");
    EXPECT_EQ(rejectm("type=,dst=/x"), "--mount 'type=,dst=/x': type is required");
    EXPECT_EQ(rejectm("type=npipe,dst=/x"),
              "--mount 'type=npipe,dst=/x': invalid mount config for type \"npipe\": mount type unknown");
    EXPECT_EQ(rejectm("type=bind,src=/a,dst=/b,bogus"),
              "--mount 'type=bind,src=/a,dst=/b,bogus': invalid field 'bogus' must be a key=value pair");
    EXPECT_EQ(rejectm("type=bind,src=/a,dst=/b,foo=bar"),
              "--mount 'type=bind,src=/a,dst=/b,foo=bar': unexpected key 'foo' in 'foo=bar'");
    EXPECT_EQ(rejectm("type=bind,src=/a,dst=/b,readonly=maybe"),
              "--mount 'type=bind,src=/a,dst=/b,readonly=maybe': invalid value for readonly: maybe");
    EXPECT_NE(rejectm("type=bind,src=/a,dst=/b,bind-propagation=sideways").find("invalid propagation mode"),
              std::string::npos);
    EXPECT_NE(rejectm("type=bind,src=/a,dst=/b,volume-nocopy").find("cannot mix 'volume-*' options with mount type 'bind'"),
              std::string::npos);
    EXPECT_NE(rejectm("type=volume,src=v1,dst=/b,bind-propagation=shared")
                  .find("cannot mix 'bind-*' options with mount type 'volume'"),
              std::string::npos);
    EXPECT_NE(rejectm("type=bind,src=/a,dst=/b,tmpfs-size=1m").find("cannot mix 'tmpfs-*'"), std::string::npos);
    EXPECT_NE(rejectm("type=tmpfs,dst=/b,volume-opt=a=b").find("cannot mix 'volume-*'"), std::string::npos);
    EXPECT_NE(rejectm("type=tmpfs,src=x,dst=/b").find("field Source must not be specified"), std::string::npos);
    EXPECT_NE(rejectm("type=bind,dst=/b").find("field Source must not be empty"), std::string::npos);
    EXPECT_NE(rejectm("type=bind,src=rel,dst=/b").find("invalid mount path: 'rel' mount path must be absolute"),
              std::string::npos);
    EXPECT_NE(rejectm("type=bind,src=/a,dst=rel").find("invalid mount path: 'rel'"), std::string::npos);
    EXPECT_NE(rejectm("type=bind,src=/a,dst=/").find("destination can't be '/'"), std::string::npos);
    EXPECT_NE(rejectm("type=volume,dst=/x,readonly").find("must not set ReadOnly mode when using anonymous volumes"),
              std::string::npos);
    EXPECT_NE(rejectm("type=volume,src=/abs,dst=/x").find("invalid characters for a local volume name"),
              std::string::npos);
    EXPECT_NE(rejectm("type=volume,src=v1,dst=/x,volume-driver=nfs").find("not supported"), std::string::npos);
    EXPECT_NE(rejectm("type=volume,src=v1,dst=/x,volume-subpath=a").find("volume-subpath is not supported"),
              std::string::npos);
    EXPECT_NE(rejectm("type=tmpfs,dst=/x,tmpfs-size=lots").find("invalid value for tmpfs-size"), std::string::npos);
    EXPECT_NE(rejectm("type=tmpfs,dst=/x,tmpfs-mode=999").find("invalid value for tmpfs-mode"), std::string::npos);
    EXPECT_NE(rejectm("type=bind,\"src=/a,dst=/x").find("quoted-field"), std::string::npos);
    EXPECT_NE(rejectm("type=bind,src=/a\"b,dst=/x").find("bare \""), std::string::npos);
}

TEST(TmpfsFlag, Forms) {
    auto m = parse_tmpfs_flag("/run");
    EXPECT_EQ(m.type, MountType::tmpfs);
    EXPECT_EQ(m.target, "/run");
    EXPECT_TRUE(m.tmpfs_options.empty());
    m = parse_tmpfs_flag("/run:size=64m,mode=1777");
    EXPECT_EQ(m.tmpfs_options, (std::vector<std::string>{"size=64m", "mode=1777"}));
    m = parse_tmpfs_flag("/app:rw,noexec,nosuid,size=50m,uid=500,nr_inodes=1k");
    EXPECT_EQ(m.tmpfs_options.size(), 6u);
    EXPECT_TRUE(parse_tmpfs_flag("/x:ro,size=50%").readonly);
    EXPECT_EQ(m.flag, "--tmpfs");
}

TEST(TmpfsFlag, Rejects) {
    EXPECT_EQ(rejectt("/x:foo=1"), "--tmpfs '/x:foo=1': invalid tmpfs option \"foo=1\"");
    EXPECT_EQ(rejectt("/x:bogus"), "--tmpfs '/x:bogus': invalid tmpfs option \"bogus\"");
    EXPECT_NE(rejectt("/x:size=lots").find("bad value"), std::string::npos);
    EXPECT_NE(rejectt("/x:mode=999").find("bad value"), std::string::npos);
    EXPECT_NE(rejectt("/x:uid=root").find("bad value"), std::string::npos);
    EXPECT_NE(rejectt("/x:bind").find("invalid tmpfs option"), std::string::npos);
    EXPECT_NE(rejectt("rel").find("must be absolute"), std::string::npos);
    EXPECT_NE(rejectt("/").find("destination can't be '/'"), std::string::npos);
    EXPECT_NE(rejectt("").find("field Target must not be empty"), std::string::npos);
}

TEST(SpecArgs, EveryFlagSpelling) {
    auto r = parse_spec_args({"-v", "a1:/a", "--volume", "a2:/b", "--volume=a3:/c", "-va4:/d", "-v=a5:/e",
                              "--mount", "type=tmpfs,dst=/f", "--mount=dst=/g", "--tmpfs", "/h", "--tmpfs=/i:size=1m",
                              "a6:/j"});
    ASSERT_EQ(r.size(), 10u);
    EXPECT_EQ(r[0].source, "a1");
    EXPECT_EQ(r[3].source, "a4");
    EXPECT_EQ(r[4].source, "a5");
    EXPECT_EQ(r[5].type, MountType::tmpfs);
    EXPECT_EQ(r[6].type, MountType::volume);
    EXPECT_EQ(r[8].target, "/i");
    EXPECT_EQ(r[9].source, "a6") << "a bare word is a -v spec";
}

TEST(SpecArgs, RejectsDuplicatesAndBadFlags) {
    EXPECT_EQ(reject([] { parse_spec_args({"-v", "a1:/d", "--tmpfs", "/d/"}); }), "Duplicate mount point: /d");
    try {
        parse_spec_args({"-v"});
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::usage);
    }
    try {
        parse_spec_args({"--bogus", "x"});
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::usage);
    }
}

TEST(Names, Generated) {
    std::string a = generate_volume_name(), b = generate_volume_name();
    EXPECT_EQ(a.size(), 64u);
    EXPECT_NE(a, b);
    EXPECT_TRUE(valid_volume_name(a));
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(CleanPath, LikeGo) {
    EXPECT_EQ(clean_path("/"), "/");
    EXPECT_EQ(clean_path("/a/b/"), "/a/b");
    EXPECT_EQ(clean_path("/../a"), "/a");
    EXPECT_EQ(clean_path("a/../../b"), "../b");
    EXPECT_EQ(clean_path(""), ".");
    EXPECT_EQ(clean_path("//a//./b/.."), "/a");
}

TEST(ApiMount, Forms) {
    auto v = parse_api_mount(Json::parse(R"({"Type":"volume","Source":"data","Target":"/d","ReadOnly":true,
        "VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},"DriverConfig":{"Name":"local","Options":{"type":"tmpfs","device":"tmpfs"}}}})"));
    EXPECT_EQ(v.type, MountType::volume);
    EXPECT_EQ(v.source, "data");
    EXPECT_TRUE(v.readonly);
    EXPECT_TRUE(v.nocopy);
    EXPECT_EQ(v.volume_labels.at("a"), "b");
    EXPECT_EQ(v.volume_options.at("type"), "tmpfs");
    auto b = parse_api_mount(Json::parse(R"({"Type":"bind","Source":"/srv/x/","Target":"/x",
        "BindOptions":{"Propagation":"rslave","NonRecursive":true,"CreateMountpoint":true}})"));
    EXPECT_EQ(b.type, MountType::bind);
    EXPECT_EQ(b.source, "/srv/x");
    EXPECT_EQ(b.propagation, "rslave");
    EXPECT_TRUE(b.nonrecursive);
    EXPECT_TRUE(b.create_source);
    EXPECT_FALSE(parse_api_mount(Json::parse(R"({"Type":"bind","Source":"/a","Target":"/x"})")).create_source)
        << "the API refuses a missing bind source unless CreateMountpoint";
    auto t = parse_api_mount(Json::parse(R"({"Type":"tmpfs","Target":"/run","TmpfsOptions":{"SizeBytes":67108864,"Mode":1023}})"));
    EXPECT_EQ(t.type, MountType::tmpfs);
    EXPECT_EQ(t.tmpfs_options, (std::vector<std::string>{"mode=1777", "size=64m"}));
}

TEST(ApiMount, Rejects) {
    auto rejecta = [](const char* text) { return reject([&] { parse_api_mount(Json::parse(text)); }); };
    EXPECT_NE(rejecta(R"({"Type":"npipe","Target":"/x"})").find("mount type unknown"), std::string::npos);
    EXPECT_NE(rejecta(R"({"Type":"volume","Target":"/x","BindOptions":{}})").find("field BindOptions must not be specified"),
              std::string::npos);
    EXPECT_NE(rejecta(R"({"Type":"bind","Source":"/a","Target":"/x","VolumeOptions":{}})").find("VolumeOptions"),
              std::string::npos);
    EXPECT_NE(rejecta(R"({"Type":"tmpfs","Source":"x","Target":"/x"})").find("Source must not be specified"),
              std::string::npos);
    // numbers as Go decodes them into Docker's types (a float past uint32 was undefined behaviour: fuzz mount_spec)
    EXPECT_NE(rejecta(R"({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"Mode":1e55}})").find("TmpfsOptions.Mode: 1e+55 is not a value of type uint32"),
              std::string::npos);
    for (const char* bad : {R"({"Mode":1.5})", R"({"Mode":-1})", R"({"Mode":4294967296})", R"({"Mode":true})",
                            R"({"SizeBytes":1e55})", R"({"SizeBytes":"1"})", R"({"SizeBytes":18446744073709551615})"})
        EXPECT_NE(rejecta((std::string(R"({"Type":"tmpfs","Target":"/t","TmpfsOptions":)") + bad + "}").c_str()).find("TmpfsOptions."),
                  std::string::npos)
            << bad;
    EXPECT_EQ(parse_api_mount(Json::parse(R"({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"Mode":null,"SizeBytes":null}})"))
                  .tmpfs_options,
              std::vector<std::string>{});
    EXPECT_NE(rejecta(R"({"Type":"volume","Target":"x"})").find("must be absolute"), std::string::npos);
    EXPECT_NE(rejecta(R"({"Type":"volume","Target":"/x","ReadOnly":true})").find("anonymous"), std::string::npos);
    EXPECT_NE(rejecta(R"({"Type":"volume","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"nfs"}}})").find("not supported"),
              std::string::npos);
    EXPECT_NE(rejecta(R"({"Type":"bind","Source":"/a","Target":"/x","BindOptions":{"Propagation":"up"}})").find("propagation"),
              std::string::npos);
    EXPECT_NE(rejecta(R"({"Type":"volume","Target":5})").find("type_error"), std::string::npos);
    EXPECT_NE(rejecta(R"([1])").find("expected an object"), std::string::npos);
}
