// cgroup code against fake trees: ordinary directories holding the files the
// kernel would show, so the v2 (and layout) logic runs without root.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/cgroup.hpp"

using namespace ctk;
using namespace ctk::linux::cgroup;

namespace {

void put(const std::string& path, const std::string& text) {
    make_dirs(path.substr(0, path.rfind('/')));
    write_file_atomic(path, text);
}

std::string get(const std::string& path) { return std::string(trim(read_file(path))); }

// A cgroup2 directory as the kernel makes it.
void fake_cgroup(const std::string& dir, const std::string& controllers) {
    put(dir + "/cgroup.controllers", controllers + "\n");
    put(dir + "/cgroup.subtree_control", "");
    put(dir + "/cgroup.procs", "");
    put(dir + "/cgroup.freeze", "0\n");
    put(dir + "/cgroup.events", "populated 0\nfrozen 0\n");
    put(dir + "/cgroup.kill", "");
    for (const auto& c : split(controllers, ' ')) {
        if (c == "memory") for (const char* f : {"memory.max", "memory.low", "memory.swap.max"}) put(dir + "/" + f, "max\n");
        if (c == "cpu") for (const char* f : {"cpu.max", "cpu.weight", "cpu.idle"}) put(dir + "/" + f, "");
        if (c == "pids") put(dir + "/pids.max", "max\n");
        if (c == "cpuset") for (const char* f : {"cpuset.cpus", "cpuset.mems"}) put(dir + "/" + f, "");
        if (c == "io") for (const char* f : {"io.max", "io.weight"}) put(dir + "/" + f, "");
        if (c == "hugetlb") put(dir + "/hugetlb.2MB.max", "max\n");
    }
}

class FakeV2 : public ::testing::Test {
protected:
    void SetUp() override {
        root = dir.path() + "/cgroup";
        fake_cgroup(root, "cpuset cpu io memory hugetlb pids");
        put(root + "/cgroup.subtree_control", "cpu memory pids");
        own = root + "/user.slice/me";
        fake_cgroup(root + "/user.slice", "cpu memory pids");
        put(root + "/user.slice/cgroup.subtree_control", "cpu memory pids");
        fake_cgroup(own, "cpu memory pids");
    }
    TempDir dir{"cgroup-test"};
    std::string root, own;
};

} // namespace

TEST(CgroupLayout, DetectsHybrid) {
    TempDir d("layout");
    put(d.path() + "/mountinfo",
        "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n");
    put(d.path() + "/cgroup", "4:memory:/a/b\n3:cpu,cpuacct:/\n1:name=systemd:/user\n0::/user\n");
    Layout l = Layout::detect(d.path() + "/mountinfo", d.path() + "/cgroup");
    EXPECT_EQ(l.mode, Mode::hybrid);
    ASSERT_EQ(l.hierarchies.size(), 4u);
    const Hierarchy* mem = l.find("memory");
    ASSERT_TRUE(mem);
    EXPECT_EQ(mem->own, "/a/b");
    EXPECT_EQ(mem->mount_point, "/sys/fs/cgroup/memory");
    const Hierarchy* cpu = l.find("cpuacct");
    ASSERT_TRUE(cpu);
    EXPECT_EQ(cpu->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(l.find("name=systemd")->own, "/user");
    ASSERT_TRUE(l.unified());
    EXPECT_EQ(l.unified()->own, "/user");
}

TEST(CgroupLayout, DetectsPureV2AndV1) {
    TempDir d("layout");
    put(d.path() + "/mountinfo", "31 25 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
    put(d.path() + "/cgroup", "0::/system.slice/x.service\n");
    Layout v2 = Layout::detect(d.path() + "/mountinfo", d.path() + "/cgroup");
    EXPECT_EQ(v2.mode, Mode::v2);
    put(d.path() + "/mountinfo", "32 30 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
    put(d.path() + "/cgroup", "2:pids:/\n");
    Layout v1 = Layout::detect(d.path() + "/mountinfo", d.path() + "/cgroup");
    EXPECT_EQ(v1.mode, Mode::v1);
}

TEST(CgroupPlan, BeneathTheCallersOwnCgroup) {
    Layout l = Layout::unified_at("/fake", "/user.slice/me");
    EXPECT_EQ(Cgroup::plan(l, "", "c1").dirs()[0].path, "/user.slice/me/c1");
    EXPECT_EQ(Cgroup::plan(l, "group/c1", "x").dirs()[0].path, "/user.slice/me/group/c1");
    EXPECT_EQ(Cgroup::plan(l, "/abs/c1", "x").dirs()[0].path, "/abs/c1");
    EXPECT_EQ(Cgroup::plan(l, "", "c1").dirs()[0].dir(), "/fake/user.slice/me/c1");
    EXPECT_THROW(Cgroup::plan(l, "../escape", "x"), Error);
    EXPECT_THROW(Cgroup::plan(l, "system.slice:ctk:c1", "x"), Error);
    EXPECT_THROW(Cgroup::plan(l, "/", "x"), Error) << "never the hierarchy's root itself";
    Layout at_root = Layout::unified_at("/fake", "/");
    EXPECT_EQ(Cgroup::plan(at_root, "", "c1").dirs()[0].path, "/c1");
}

TEST(CgroupPlan, ACallerInTheCallersLeafPlacesBesideIt) {
    Layout l = Layout::unified_at("/fake", std::string("/system.slice/job.scope/") + callers_leaf);
    Cgroup cg = Cgroup::plan(l, "", "c1");
    EXPECT_EQ(cg.dirs()[0].path, "/system.slice/job.scope/c1");
    EXPECT_EQ(cg.dirs()[0].base, "/system.slice/job.scope");
    EXPECT_EQ(Cgroup::plan(l, "/abs/c1", "x").dirs()[0].base, "") << "absolute: nobody's own cgroup";
    Layout top = Layout::unified_at("/fake", std::string("/") + callers_leaf);
    EXPECT_EQ(Cgroup::plan(top, "", "c1").dirs()[0].path, "/c1");
}

TEST_F(FakeV2, ANonDelegatedSystemdUnitWithProcessesIsAClearError) {
    std::string unit = root + "/system.slice/job.service";
    fake_cgroup(root + "/system.slice", "memory pids");
    fake_cgroup(unit, "memory pids");
    put(unit + "/cgroup.procs", "300\n308\n");
    Layout l = Layout::unified_at(root, "/system.slice/job.service");
    Cgroup cg = Cgroup::plan(l, "", "c1");
    oci::Resources r;
    r.pids = oci::PidsResources{10};
    try {
        cg.create(&r);
        FAIL() << "the unit's processes cannot move without Delegate=yes";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict);
        EXPECT_NE(std::string(e.what()).find("Delegate=yes"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("job.service"), std::string::npos) << e.what();
    }
    EXPECT_EQ(get(unit + "/cgroup.subtree_control"), "") << "nothing enabled";
    struct stat st {};
    EXPECT_NE(::stat((unit + "/" + callers_leaf).c_str(), &st), 0) << "no process moved";
}

TEST_F(FakeV2, CreateEnablesControllersAndApplyWritesLimits) {
    Layout l = Layout::unified_at(root, "/user.slice/me");
    Cgroup cg = Cgroup::plan(l, "pod/c1", "c1");
    std::string leaf = own + "/pod/c1";
    fake_cgroup(own + "/pod", "cpu memory pids");
    fake_cgroup(leaf, "cpu memory pids");
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 64 << 20;
    r.memory->swap = 96 << 20;
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.pids = oci::PidsResources{100};
    r.unified["memory.low"] = "1048576";
    cg.create(&r);
    EXPECT_EQ(get(own + "/cgroup.subtree_control"), "+memory +cpu +pids");
    EXPECT_EQ(get(own + "/pod/cgroup.subtree_control"), "+memory +cpu +pids");
    std::vector<std::string> warnings;
    cg.apply(r, {}, [&](const std::string& w) { warnings.push_back(w); });
    EXPECT_EQ(get(leaf + "/memory.max"), "67108864");
    EXPECT_EQ(get(leaf + "/memory.swap.max"), std::to_string(32 << 20));
    EXPECT_EQ(get(leaf + "/cpu.weight"), "39");
    EXPECT_EQ(get(leaf + "/cpu.max"), "50000 100000");
    EXPECT_EQ(get(leaf + "/pids.max"), "100");
    EXPECT_EQ(get(leaf + "/memory.low"), "1048576");
    EXPECT_TRUE(warnings.empty());
}

TEST_F(FakeV2, MissingControllerIsAnError) {
    Layout l = Layout::unified_at(root, "/user.slice/me");
    Cgroup cg = Cgroup::plan(l, "", "c2");
    oci::Resources r;
    r.extra["hugepageLimits"] = Json::array({{{"pageSize", "2MB"}, {"limit", 1 << 21}}});
    try {
        cg.create(&r);
        FAIL() << "hugetlb is not delegated to /user.slice";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("hugetlb"), std::string::npos) << e.what();
    }
}

TEST_F(FakeV2, NoResourcesNeedNoControllers) {
    Layout l = Layout::unified_at(root, "/user.slice/me");
    Cgroup cg = Cgroup::plan(l, "", "c3");
    cg.create(nullptr);
    struct stat st {};
    EXPECT_EQ(::stat((own + "/c3").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(get(own + "/cgroup.subtree_control"), "") << "nothing enabled that nothing needs";
}

TEST_F(FakeV2, FreezeThawPidsAndState) {
    Layout l = Layout::unified_at(root, "/user.slice/me");
    Cgroup cg = Cgroup::plan(l, "", "c4");
    std::string leaf = own + "/c4";
    fake_cgroup(leaf, "pids");
    put(leaf + "/cgroup.events", "populated 1\nfrozen 1\n"); // the kernel reports it frozen
    put(leaf + "/cgroup.procs", "12\n7\n");
    fake_cgroup(leaf + "/sub", "");
    put(leaf + "/sub/cgroup.procs", "30\n");
    cg.freeze();
    EXPECT_EQ(get(leaf + "/cgroup.freeze"), "1");
    EXPECT_TRUE(cg.frozen());
    cg.thaw();
    EXPECT_EQ(get(leaf + "/cgroup.freeze"), "0");
    EXPECT_EQ(cg.pids(), (std::vector<pid_t>{7, 12, 30}));
    Cgroup back = Cgroup::from_json(cg.to_json());
    ASSERT_EQ(back.dirs().size(), 1u);
    EXPECT_EQ(back.dirs()[0].dir(), leaf);
    EXPECT_EQ(back.mode(), Mode::v2);
}

TEST(CgroupConversions, SpecValuesToV2) {
    EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
    EXPECT_EQ(cpu_shares_to_weight(2), 1u);
    EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
    EXPECT_EQ(cpu_shares_to_weight(0), 0u);
    EXPECT_EQ(swap_to_v2(-1, 100), "max");
    EXPECT_EQ(swap_to_v2(0, 100), "");
    EXPECT_EQ(swap_to_v2(300, 100), "200");
    EXPECT_THROW(swap_to_v2(50, 100), Error);
    EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
    EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

// The live layout through statmount(2) is the layout mountinfo gives
// (/proc/thread-self/mountinfo is the same table, read as a file).
TEST(CgroupLayout, DetectReadsTheSameHierarchiesAsMountinfo) {
    auto describe = [](const Layout& l) {
        std::vector<std::string> out;
        for (const auto& h : l.hierarchies)
            out.push_back(h.mount_point + " " + h.mount_root + " " + join(h.controllers, ",") + " " +
                          (h.unified ? "unified" : "v1") + " " + h.own);
        return out;
    };
    Layout live = Layout::detect();
    Layout file = Layout::detect("/proc/thread-self/mountinfo");
    EXPECT_EQ(live.mode, file.mode);
    EXPECT_EQ(describe(live), describe(file));
    EXPECT_FALSE(live.hierarchies.empty());
}
