#include <gtest/gtest.h>

#include <linux/seccomp.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "linux/seccomp.hpp"

using namespace ctk;
using namespace ctk::linux;

namespace {
oci::Seccomp profile() {
    oci::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    oci::SeccompSyscall deny;
    deny.names = {"mkdir", "mkdirat", "no_such_syscall_here"};
    deny.action = "SCMP_ACT_ERRNO";
    deny.errno_ret = 38;
    s.syscalls.push_back(deny);
    oci::SeccompSyscall personality;
    personality.names = {"personality"};
    personality.action = "SCMP_ACT_ERRNO";
    personality.args = {{0, 0x0008, 0, "SCMP_CMP_NE"}, {0, 0xffffffff, 0, "SCMP_CMP_NE"}};
    s.syscalls.push_back(personality);
    return s;
}
} // namespace

TEST(Seccomp, CompilesToABpfProgram) {
    auto p = seccomp::compile(profile());
    EXPECT_GT(p.filter.size(), 10u);
    EXPECT_FALSE(p.notify);
    EXPECT_EQ(p.flags, 0u);
    EXPECT_EQ(p.unknown, std::vector<std::string>{"no_such_syscall_here"}) << "skipped and listed";
}

TEST(Seccomp, FlagsAndNotify) {
    auto s = profile();
    s.flags = {"SECCOMP_FILTER_FLAG_LOG"};
    oci::SeccompSyscall n;
    n.names = {"chmod"};
    n.action = "SCMP_ACT_NOTIFY";
    s.syscalls.push_back(n);
    auto p = seccomp::compile(s);
    EXPECT_TRUE(p.notify);
    EXPECT_EQ(p.flags, static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_NEW_LISTENER));
}

TEST(Seccomp, BadProfilesAreInvalid) {
    auto bad_action = profile();
    bad_action.default_action = "SCMP_ACT_EXPLODE";
    EXPECT_THROW(seccomp::compile(bad_action), Error);
    auto bad_arch = profile();
    bad_arch.architectures = {"SCMP_ARCH_VAX"};
    EXPECT_THROW(seccomp::compile(bad_arch), Error);
    auto bad_op = profile();
    bad_op.syscalls[1].args[0].op = "SCMP_CMP_ABOUT";
    EXPECT_THROW(seccomp::compile(bad_op), Error);
}

namespace {
bool same_program(const seccomp::Program& a, const seccomp::Program& b) {
    if (a.filter.size() != b.filter.size() || a.flags != b.flags || a.notify != b.notify || a.unknown != b.unknown)
        return false;
    for (size_t i = 0; i < a.filter.size(); ++i)
        if (a.filter[i].code != b.filter[i].code || a.filter[i].jt != b.filter[i].jt ||
            a.filter[i].jf != b.filter[i].jf || a.filter[i].k != b.filter[i].k)
            return false;
    return true;
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
    return out;
}
} // namespace

TEST(SeccompCache, SecondCompileComesFromTheEntry) {
    TempDir d("seccomp-cache");
    std::string cache = d.path() + "/cache";
    auto compiled = seccomp::compile(profile());
    auto first = seccomp::compile_cached(profile(), cache);
    ASSERT_TRUE(same_program(compiled, first));
    auto files = entries(cache);
    ASSERT_EQ(files.size(), 1u);
    struct stat st {};
    ASSERT_EQ(::stat(cache.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    // The entry is what the second call uses: change its filter (same source
    // text) and the change comes back.
    Json j = Json::parse(read_file(files[0]));
    j["filter"][0][3] = 12345;
    write_file_atomic(files[0], j.dump(), 0600);
    auto second = seccomp::compile_cached(profile(), cache);
    ASSERT_EQ(second.filter.size(), compiled.filter.size());
    EXPECT_EQ(second.filter[0].k, 12345u);
    EXPECT_EQ(second.unknown, compiled.unknown);
}

TEST(SeccompCache, OtherFiltersAndStaleOrForeignEntriesAreCompiled) {
    TempDir d("seccomp-cache");
    std::string cache = d.path() + "/cache";
    seccomp::compile_cached(profile(), cache);
    std::string entry = entries(cache).at(0);

    // another filter: its own entry
    auto other = profile();
    other.syscalls[0].names = {"rmdir"};
    auto p_other = seccomp::compile_cached(other, cache);
    EXPECT_TRUE(same_program(p_other, seccomp::compile(other)));
    EXPECT_EQ(entries(cache).size(), 2u);

    // an entry whose recorded source is another text (a name collision) is not used
    Json j = Json::parse(read_file(entry));
    j["filter"][0][3] = 12345;
    j["source"] = "{}";
    write_file_atomic(entry, j.dump(), 0600);
    EXPECT_TRUE(same_program(seccomp::compile_cached(profile(), cache), seccomp::compile(profile())));
    EXPECT_EQ(Json::parse(read_file(entry))["source"].get<std::string>().size() > 2, true) << "rewritten";

    // compiled for another libseccomp: not used
    j = Json::parse(read_file(entry));
    j["filter"][0][3] = 12345;
    j["context"]["libseccomp"] = "0.0.1";
    write_file_atomic(entry, j.dump(), 0600);
    EXPECT_TRUE(same_program(seccomp::compile_cached(profile(), cache), seccomp::compile(profile())));

    // writable by the group: not trusted
    j = Json::parse(read_file(entry));
    j["filter"][0][3] = 12345;
    write_file_atomic(entry, j.dump(), 0620);
    ASSERT_EQ(::chmod(entry.c_str(), 0620), 0);
    EXPECT_TRUE(same_program(seccomp::compile_cached(profile(), cache), seccomp::compile(profile())));

    // torn: compiled again and replaced
    write_file_atomic(entry, "{\"context\":", 0600);
    EXPECT_TRUE(same_program(seccomp::compile_cached(profile(), cache), seccomp::compile(profile())));
    EXPECT_NO_THROW(Json::parse(read_file(entry)));
}

TEST(SeccompCache, AnUnwritableCacheStillCompiles) {
    TempDir d("seccomp-cache");
    std::string file = d.path() + "/not-a-dir";
    write_file_atomic(file, "x");
    EXPECT_TRUE(same_program(seccomp::compile_cached(profile(), file + "/cache"), seccomp::compile(profile())));
    EXPECT_TRUE(same_program(seccomp::compile_cached(profile(), ""), seccomp::compile(profile())));
}
