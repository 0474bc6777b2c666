// img-pack archive and extract: docker cp's tars (and a build context's).
// GNU tar is the peer: it lists and unpacks what `archive` writes, and
// `extract` unpacks what it writes, to the same tree. Hostile tars (python's
// tarfile writes them as an attacker would) and a hostile destination are
// refused with one line, and nothing lands outside the destination.
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "tool_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

bool path_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class ImgPackTar : public ToolTest {
protected:
    std::string sh(const std::string& script) {
        ToolResult r = run_command({"sh", "-c", script});
        EXPECT_EQ(r.status, 0) << script << "\n" << r;
        return r.out;
    }
    // img-pack archive ARGS > FILE
    ToolResult archive(const std::vector<std::string>& args, const std::string& file) {
        std::vector<std::string> a = {tool_path("img-pack"), "archive"};
        a.insert(a.end(), args.begin(), args.end());
        std::string cmd;
        for (const auto& w : a) cmd += "'" + w + "' ";
        return run_command({"sh", "-c", cmd + "> '" + file + "'"});
    }
    ToolResult extract(const std::vector<std::string>& args, const std::string& tar) {
        std::vector<std::string> a = {"extract", "-i", tar};
        a.insert(a.end(), args.begin(), args.end());
        return run("img-pack", a);
    }
    std::string listing(const std::string& tar) { return sh("tar -tf '" + tar + "'"); }
    // Every path, type, mode, size, link target and file content of a tree.
    std::string tree_hash(const std::string& dir) {
        return sh("cd '" + dir + "' && { find . -printf '%p %y %m %s %l\\n' | LC_ALL=C sort; "
                  "find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum; } | sha256sum");
    }
    // A tar made by python's tarfile from (name, type, target) triples: f file, d dir, l symlink, h hardlink, c chardev.
    std::string hostile_tar(const std::string& name, const std::string& entries) {
        std::string path = tmp() + "/" + name + ".tar";
        sh("python3 - '" + path + "' <<'EOF'\n"
           "import io, sys, tarfile\n"
           "t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)\n"
           "for name, kind, target in [" + entries + "]:\n"
           "    i = tarfile.TarInfo(name)\n"
           "    i.mode = 0o644\n"
           "    data = None\n"
           "    if kind == 'f': data = b'pwned\\n'; i.size = len(data)\n"
           "    if kind == 'd': i.type = tarfile.DIRTYPE; i.mode = 0o755\n"
           "    if kind == 'l': i.type = tarfile.SYMTYPE; i.linkname = target\n"
           "    if kind == 'h': i.type = tarfile.LNKTYPE; i.linkname = target\n"
           "    if kind == 'c': i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3\n"
           "    t.addfile(i, io.BytesIO(data) if data else None)\n"
           "t.close()\n"
           "EOF");
        return path;
    }
    void expect_refused(const ToolResult& r, int status, const std::string& words) {
        EXPECT_EQ(r.status, status) << r;
        std::string err(trim(r.err));
        EXPECT_EQ(err.find('\n'), std::string::npos) << "not one line:\n" << r.err;
        EXPECT_EQ(err.rfind("img-pack: ", 0), 0u) << r.err;
        EXPECT_NE(err.find(words), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "") << r;
    }
};

} // namespace

TEST_F(ImgPackTar, ArchiveNamesTheTopEntryAsDockerCpDoes) {
    CTK_REQUIRE_ROOT();
    std::string root = tmp() + "/root";
    sh("mkdir -p " + root + "/srv/d/e && echo a > " + root + "/srv/d/a && echo f > " + root + "/srv/d/e/f && "
       "ln -s /etc " + root + "/srv/d/l && ln " + root + "/srv/d/a " + root + "/srv/d/hard && mkfifo " + root + "/srv/d/p");
    std::string t = tmp() + "/t.tar";
    // docker: the top entry is the path's last component; DIR/. is DIR's contents ("./…")
    ASSERT_EQ(archive({root, "/srv/d"}, t).status, 0);
    EXPECT_EQ(listing(t), "d/\nd/a\nd/e/\nd/e/f\nd/hard\nd/l\nd/p\n");
    ASSERT_EQ(archive({"--name", "renamed", root, "/srv/d/"}, t).status, 0);
    EXPECT_EQ(listing(t), "renamed/\nrenamed/a\nrenamed/e/\nrenamed/e/f\nrenamed/hard\nrenamed/l\nrenamed/p\n");
    ASSERT_EQ(archive({root, "/srv/d/."}, t).status, 0);
    EXPECT_EQ(listing(t), "./\n./a\n./e/\n./e/f\n./hard\n./l\n./p\n");
    ASSERT_EQ(archive({root, "/srv/d/e/f"}, t).status, 0);
    EXPECT_EQ(listing(t), "f\n");
    // a final symlink is archived as itself; one on the way resolves inside ROOT
    ASSERT_EQ(archive({root, "/srv/d/l"}, t).status, 0);
    EXPECT_EQ(sh("tar -tvf '" + t + "' | awk '{print $1, $6, $7, $8}'"), "lrwxrwxrwx l -> /etc\n");
    sh("ln -s /srv/d " + root + "/link-to-d");
    ASSERT_EQ(archive({root, "/link-to-d/e/f"}, t).status, 0);
    EXPECT_EQ(listing(t), "f\n");
    // GNU tar unpacks it to the same tree, the hardlink kept
    ASSERT_EQ(archive({root, "/srv/d"}, t).status, 0);
    sh("mkdir " + tmp() + "/gnu && tar -xf '" + t + "' -C " + tmp() + "/gnu");
    EXPECT_EQ(tree_hash(tmp() + "/gnu/d"), tree_hash(root + "/srv/d"));
    EXPECT_EQ(sh("stat -c %h " + tmp() + "/gnu/d/hard"), "2\n");
    // docker export: the entries of a directory at the top, no top entry; -o by a temp name
    ASSERT_EQ(archive({"--contents", root, "/srv/d"}, t).status, 0);
    EXPECT_EQ(listing(t), "a\ne/\ne/f\nhard\nl\np\n");
    std::string o = tmp() + "/o.tar";
    ToolResult to_file = run("img-pack", {"archive", "--contents", "-o", o, root, "/"});
    ASSERT_EQ(to_file.status, 0) << to_file;
    EXPECT_EQ(listing(o), "link-to-d\nsrv/\nsrv/d/\nsrv/d/a\nsrv/d/e/\nsrv/d/e/f\nsrv/d/hard\nsrv/d/l\nsrv/d/p\n");
    EXPECT_EQ(sh("ls " + tmp() + " | grep -c tmp- || true"), "0\n");
    // nothing there; a terminal is refused
    ToolResult missing = archive({root, "/srv/nope"}, t);
    EXPECT_EQ(missing.status, 4) << missing;
    EXPECT_NE(missing.err.find("no such file or directory: /srv/nope"), std::string::npos) << missing.err;
}

TEST_F(ImgPackTar, ExtractUnpacksWhatGnuTarWritesIntoADirectoryInsideTheRoot) {
    CTK_REQUIRE_ROOT();
    std::string src = tmp() + "/src", root = tmp() + "/root";
    sh("mkdir -p " + src + "/top/sub " + root + "/dst && echo x > " + src + "/top/sub/x && ln -s ../sub/x " + src +
       "/top/rel && echo wh > " + src + "/top/.wh.notawhiteout && ln " + src + "/top/sub/x " + src + "/top/hard && "
       "chown -R 1234:1234 " + src + "/top/sub && chmod 0750 " + src + "/top/sub");
    std::string t = tmp() + "/gnu.tar";
    sh("tar -cf '" + t + "' -C " + src + " top");
    ToolResult r = extract({root, "/dst"}, t);
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json().value("entries", 0), 6) << r.out;
    EXPECT_EQ(tree_hash(root + "/dst/top"), tree_hash(src + "/top"));
    // a plain tar: ".wh." names are files, owners kept unless --no-same-owner
    EXPECT_TRUE(path_exists(root + "/dst/top/.wh.notawhiteout"));
    EXPECT_EQ(sh("stat -c %u:%g " + root + "/dst/top/sub/x"), "1234:1234\n");
    sh("mkdir " + root + "/mine");
    ASSERT_EQ(extract({"--no-same-owner", root, "/mine"}, t).status, 0);
    EXPECT_EQ(sh("stat -c %u:%g " + root + "/mine/top/sub/x"), "0:0\n");
    // the destination directory keeps its own metadata ("./" of an archive of DIR/.)
    sh("chmod 0701 " + root + "/dst && tar -cf '" + tmp() + "/dot.tar' -C " + src + "/top .");
    ASSERT_EQ(extract({root, "/dst"}, tmp() + "/dot.tar").status, 0);
    EXPECT_EQ(sh("stat -c %a " + root + "/dst"), "701\n");
    EXPECT_EQ(sh("cat " + root + "/dst/sub/x"), "x\n");
    // compressed, and from stdin
    sh("gzip -k '" + t + "'");
    sh("mkdir " + root + "/gz");
    ToolResult gz = run("img-pack", {"extract", root, "/gz"}, read_file(t + ".gz"));
    EXPECT_EQ(gz.status, 0) << gz;
    EXPECT_EQ(tree_hash(root + "/gz/top"), tree_hash(src + "/top"));
    // what archive writes, extract reads back to the same tree
    std::string round = tmp() + "/round.tar";
    ASSERT_EQ(archive({src, "/top"}, round).status, 0);
    sh("mkdir " + root + "/round");
    ASSERT_EQ(extract({root, "/round"}, round).status, 0);
    EXPECT_EQ(tree_hash(root + "/round/top"), tree_hash(src + "/top"));
}

TEST_F(ImgPackTar, DockersNoOverwriteDirNonDirAndDevicesOnlyWhenAllowed) {
    CTK_REQUIRE_ROOT();
    std::string root = tmp() + "/root";
    sh("mkdir -p " + root + "/dst/a && echo keep > " + root + "/dst/a/keep && echo file > " + root + "/dst/b");
    std::string file_a = hostile_tar("file-a", "('a', 'f', '')");
    std::string dir_b = hostile_tar("dir-b", "('b', 'd', '')");
    expect_refused(extract({"--no-overwrite-dir-non-dir", root, "/dst"}, file_a), 5,
                   "cannot overwrite directory with non-directory");
    expect_refused(extract({"--no-overwrite-dir-non-dir", root, "/dst"}, dir_b), 5,
                   "cannot overwrite non-directory with directory");
    EXPECT_EQ(sh("cat " + root + "/dst/a/keep " + root + "/dst/b"), "keep\nfile\n");
    // without the rule a tar entry replaces what is there, as tar does
    ASSERT_EQ(extract({root, "/dst"}, file_a).status, 0);
    EXPECT_EQ(sh("cat " + root + "/dst/a"), "pwned\n");
    // /dev/null's numbers: refused unless --devices
    std::string dev = hostile_tar("dev", "('null', 'c', '')");
    expect_refused(extract({root, "/dst"}, dev), 3, "entry \"null\": device nodes are not allowed here");
    EXPECT_FALSE(path_exists(root + "/dst/null"));
    ASSERT_EQ(extract({"--devices", root, "/dst"}, dev).status, 0);
    EXPECT_EQ(sh("stat -c '%F %t:%T' " + root + "/dst/null"), "character special file 1:3\n");
}

// Each hostile input is refused with one line before it writes anything, and
// nothing appears outside the destination.
TEST_F(ImgPackTar, HostileTarsAndDestinationsAreRefused) {
    CTK_REQUIRE_ROOT();
    std::string root = tmp() + "/root", outside = tmp() + "/outside";
    sh("mkdir -p " + root + "/dst " + outside);
    auto untouched = [&](const std::string& what) {
        EXPECT_EQ(sh("ls -A " + outside + " " + root + "/dst"), outside + ":\n\n" + root + "/dst:\n")
            << what << " wrote something";
        EXPECT_FALSE(path_exists(tmp() + "/evil")) << what;
        EXPECT_FALSE(path_exists(root + "/evil")) << what;
    };
    // "../" in a name
    expect_refused(extract({root, "/dst"}, hostile_tar("dotdot", "('../../evil', 'f', ''), ('ok', 'f', '')")), 3,
                   "entry \"../../evil\" escapes the rootfs");
    untouched("../../evil");
    expect_refused(extract({root, "/dst"}, hostile_tar("inner", "('a/../../evil', 'f', ''), ('ok', 'f', '')")), 3,
                   "entry \"a/../../evil\" escapes the rootfs");
    untouched("a/../../evil");
    // an absolute symlink to a host directory, then a file through it: the
    // link resolves inside the destination, where nothing is at that path
    std::string through = hostile_tar("through", "('l', 'l', '" + outside + "'), ('l/evil', 'f', '')");
    ToolResult r = extract({root, "/dst"}, through);
    expect_refused(r, 3, "entry \"l/evil\": parent \"l\" is a symbolic link to nothing");
    EXPECT_EQ(sh("ls -A " + outside), "") << "a file went through the symlink to the host";
    sh("rm -f " + root + "/dst/l");
    // a hardlink to a host file
    expect_refused(extract({root, "/dst"}, hostile_tar("hardlink", "('h', 'h', '../../../../etc/passwd')")), 3,
                   "hardlink target \"../../../../etc/passwd\" escapes the rootfs");
    untouched("hardlink");
    // a symlink in the destination path pointing outside the root: resolved
    // inside ROOT, where that path does not exist
    sh("ln -s " + outside + " " + root + "/dst-link");
    expect_refused(extract({root, "/dst-link"}, hostile_tar("plain", "('evil', 'f', '')")), 4,
                   "no such directory: /dst-link");
    untouched("a symlinked destination");
    // not a tar at all, and an empty stream
    write_file_atomic(tmp() + "/junk", "this is not a tar archive, not even close to one\n");
    ToolResult junk = extract({root, "/dst"}, tmp() + "/junk");
    EXPECT_EQ(junk.status, 3) << junk;
    EXPECT_EQ(std::string(trim(junk.err)).find('\n'), std::string::npos) << junk.err;
    ToolResult empty = run("img-pack", {"extract", root, "/dst"}, "");
    EXPECT_NE(empty.status, 0) << empty;
    untouched("junk");
}
