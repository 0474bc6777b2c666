// img-pack: the image object's write side: layers, commit, import, tag,
// untag, rm, docker-archive save and load in an OCI image layout.
// See man/img-pack.1.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "build/copy.hpp"
#include "core/cli.hpp"
#include "core/fs.hpp"
#include "image/docker_save.hpp"
#include "image/pack.hpp"
#include "image/source.hpp"
#include "image/tree_archive.hpp"
#include "image/unpack.hpp"
#include "store/paths.hpp"

namespace {

using ctk::Error;
using ctk::ErrorKind;
using ctk::Json;

struct LayerArgs {
    std::string bundle, upper, layer;
    std::vector<std::string> diff, exclude;
};

void add_layer_options(CLI::App* c, LayerArgs& a, bool with_blob) {
    c->add_option("--bundle", a.bundle, "an img-unpack bundle: its overlay upper dir, or its flat rootfs diffed "
                                        "against a fresh unpack of its image (runtime mount points left out)");
    c->add_option("--upper", a.upper, "an overlay upper directory (0/0 devices are deletions, opaque dirs kept)");
    c->add_option("--diff", a.diff, "LOWER UPPER: the changes from the tree LOWER to the tree UPPER")
        ->expected(2)->type_name("LOWER UPPER");
    if (with_blob) c->add_option("--layer", a.layer, "a layer blob already in the layout (sha256:…)");
    c->add_option("--exclude", a.exclude, "a path left out of the layer, with everything below it");
}

ctk::image::LayerSource layer_source(const LayerArgs& a) {
    ctk::image::LayerSource s;
    int n = int(!a.bundle.empty()) + int(!a.upper.empty()) + int(!a.diff.empty()) + int(!a.layer.empty());
    if (n > 1) throw Error("give one layer source: --bundle, --upper, --diff or --layer", ErrorKind::usage);
    s.bundle = a.bundle;
    s.upper = a.upper;
    if (!a.diff.empty()) {
        s.lower = a.diff[0];
        s.diff_upper = a.diff[1];
    }
    if (!a.layer.empty()) {
        if (!ctk::Digest::valid(a.layer)) throw Error("--layer " + ctk::quote(a.layer) + ": not a digest", ErrorKind::invalid);
        s.blob = ctk::Digest::parse(a.layer);
    }
    for (auto e : a.exclude) {
        while (!e.empty() && e[0] == '/') e.erase(0, 1);
        while (!e.empty() && e.back() == '/') e.pop_back();
        if (!e.empty()) s.exclude.insert(e);
    }
    return s;
}

Json layer_json(const ctk::image::WrittenLayer& w) {
    Json j = {{"diff_id", w.diff_id.str()}, {"tar_size", w.tar_size},
              {"content_size", w.content_size}, {"entries", w.entries}};
    if (w.empty()) {
        j["digest"] = nullptr;
    } else {
        j["digest"] = w.descriptor.digest.str();
        j["media_type"] = w.descriptor.media_type;
        j["size"] = w.descriptor.size;
    }
    return j;
}

// A flat bundle's base: a fresh flat rootfs of the image, by img-unpack's library.
void unpack_flat(const ctk::oci::Layout& layout, const ctk::Digest& manifest, const std::string& dir) {
    Json pulled = {{"layout", layout.path()}, {"digest", manifest.str()}};
    auto source = ctk::image::ImageSource::from_pull_json(pulled, std::nullopt);
    ctk::image::UnpackOptions o;
    o.mode = ctk::image::BundleMode::flat;
    o.sync = false;
    ctk::image::unpack_image(source, dir, o, ctk::store::Paths::from_env());
}

// `write(fd)` into FILE by a temp name beside it, renamed when complete; to
// stdout (never a terminal: `refusal`) when FILE is "".
void write_output(const std::string& file, const std::string& refusal, const std::function<void(int)>& write) {
    if (file.empty()) {
        if (ctk::is_terminal(1)) throw Error(refusal, ErrorKind::usage);
        write(1);
        return;
    }
    std::string tmp = file + ".tmp-" + ctk::random_hex(6);
    ctk::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) ctk::throw_errno("create", tmp);
    ctk::ScopeGuard drop([&] { ::unlink(tmp.c_str()); });
    write(fd.get());
    if (::fsync(fd.get()) < 0) ctk::throw_errno("fsync", tmp);
    if (::rename(tmp.c_str(), file.c_str()) < 0) ctk::throw_errno("rename to", file);
    drop.dismiss();
}

std::string absolute(const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) ctk::throw_errno("getcwd", ".");
    return std::string(cwd) + "/" + p;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"img-pack: write images into an OCI image layout (the image object's write side)\n\n"
                 "  img-pack layer (--bundle B | --upper DIR | --diff LOWER UPPER) [--exclude PATH]...\n"
                 "  img-pack commit --base IMAGE|scratch [LAYER SOURCE] [--config FILE|-] [--change INSTR]...\n"
                 "                  [--author A] [--message M] [--created-by T] [--created RFC3339] [--tag REF]...\n"
                 "  img-pack tag IMAGE TARGET...     img-pack untag REF...     img-pack rm [--force] IMAGE...\n"
                 "  img-pack import SOURCE|- [--change INSTR]... [--message M] [--tag REF] [--platform P]\n"
                 "  img-pack save IMAGE... [-o FILE]     img-pack load [-i FILE]\n"
                 "  img-pack copy --from DIR [--dockerignore F] [--chown U:G] [--chmod M] [--add] [--into-dir] ROOTFS DEST SOURCE...\n"
                 "  img-pack mkdir ROOTFS PATH          (build steps: COPY/ADD and WORKDIR)\n"
                 "  img-pack diff BUNDLE                (docker diff: a container's changes)\n"
                 "  img-pack archive [--name N|--contents] [-o FILE] ROOT PATH > TAR      img-pack extract [OPTIONS] ROOT DIR < TAR\n"
                 "                                      (docker cp, a build context)\n\n"
                 "IMAGE: a reference tagged in the layout (tiny = docker.io/library/tiny:latest), an image ID\n"
                 "(sha256:<config digest>) or a unique prefix, or @sha256:<manifest digest> (listed or not).\n",
                 "img-pack"};
    app.require_subcommand(1);
    ctk::store::Paths paths = ctk::store::Paths::from_env();
    std::string layout = paths.images();
    app.add_option("--layout", layout, "the OCI image layout (default: $CTK_ROOT/images)");
    app.set_version_flag("--version", std::string(CTK_VERSION));

    LayerArgs la;
    auto layer = app.add_subcommand("layer", "Write one layer blob of a bundle's or a directory's changes");
    add_layer_options(layer, la, false);

    LayerArgs ca;
    std::string base, platform, config_file, author, message, created_by, created;
    std::vector<std::string> changes, tags;
    auto commit = app.add_subcommand("commit", "A new image: a base, at most one new layer, config changes");
    commit->add_option("--base", base, "the base image, or scratch")->required();
    commit->add_option("--platform", platform, "os/arch[/variant]: scratch's, or the one picked from a base index");
    add_layer_options(commit, ca, true);
    commit->add_option("--config", config_file, "a Docker Config object (JSON file, - for stdin) laid over the base's");
    commit->add_option("-c,--change", changes, "a Dockerfile instruction: CMD ENTRYPOINT ENV EXPOSE LABEL ONBUILD "
                                               "STOPSIGNAL USER VOLUME WORKDIR");
    commit->add_option("-a,--author", author, "the image's author");
    commit->add_option("-m,--message", message, "the history entry's comment");
    commit->add_option("--created-by", created_by, "the history entry's created_by");
    commit->add_option("--created", created, "RFC 3339 creation time (default: SOURCE_DATE_EPOCH, else now)");
    commit->add_option("-t,--tag", tags, "a name for the image (moved off any other image)");
    std::string set_config_file;
    bool no_index = false;
    commit->add_option("--set-config", set_config_file, "the whole new Docker Config object (JSON file), replacing the base's");
    commit->add_flag("--no-index", no_index, "write the blobs only, no index.json entry (a build step's image)");

    std::string tag_image;
    std::vector<std::string> tag_targets;
    auto tag = app.add_subcommand("tag", "Name an image (docker tag)");
    tag->add_option("IMAGE", tag_image, "the image")->required();
    tag->add_option("TARGET", tag_targets, "the new names (none: list the image in the index, untagged when it has no name)");

    ctk::build::CopySpec cs;
    std::string copy_root, copy_ignore_file;
    auto copy = app.add_subcommand("copy", "A build step's COPY or ADD: sources into a root filesystem");
    copy->add_option("--from", cs.from, "the source root: the build context, or another image's rootfs")->required();
    copy->add_option("--dockerignore", copy_ignore_file, "a .dockerignore whose patterns leave context paths out");
    copy->add_option("--chown", cs.chown, "USER[:GROUP], names looked up in ROOTFS (default 0:0)");
    copy->add_option("--chmod", cs.chmod, "OCTAL mode of what is copied");
    copy->add_flag("--add", cs.add, "ADD: local tar archives (any compression) are extracted");
    copy->add_flag("--into-dir", cs.dest_dir, "DEST is a directory (DEST was written with a trailing /)");
    copy->add_option("ROOTFS", copy_root, "the root filesystem written to (a build step's bundle rootfs)")->required();
    copy->add_option("DEST", cs.dest, "the destination, absolute inside ROOTFS")->required();
    copy->add_option("SOURCE", cs.sources, "sources as the Dockerfile names them (wildcards allowed)")->required();
    std::string mkdir_root, mkdir_path;
    auto mkdir = app.add_subcommand("mkdir", "A build step's WORKDIR: mkdir -p inside a root filesystem (new: 0755 root:root)");
    mkdir->add_option("ROOTFS", mkdir_root, "the root filesystem")->required();
    mkdir->add_option("PATH", mkdir_path, "the directory, absolute inside ROOTFS")->required();

    std::string archive_root, archive_path, archive_name;
    auto archive = app.add_subcommand("archive", "PATH inside ROOT as a tar on stdout (docker cp from a container)");
    archive->add_option("--name", archive_name, "the top entry's name (default: PATH's last component, as docker names it)");
    std::string archive_output;
    bool archive_contents = false;
    archive->add_option("-o,--output", archive_output, "write to FILE (a temp name beside it, renamed when complete)");
    archive->add_flag("--contents", archive_contents,
                      "PATH's entries at the tar's top, no top entry (docker export: ROOT /)");
    archive->add_option("ROOT", archive_root, "the root PATH is resolved in (a container's rootfs, or /)")->required();
    archive->add_option("PATH", archive_path, "the file or directory, absolute inside ROOT; DIR/. archives DIR's contents")
        ->required();
    std::string extract_root, extract_dir, extract_input;
    ctk::image::ExtractOptions xo;
    xo.layer = false;
    xo.devices = false;
    bool no_same_owner = false;
    auto extract = app.add_subcommand("extract", "A tar from stdin into DIR inside ROOT (docker cp into a container)");
    extract->add_option("-i,--input", extract_input, "read FILE instead of stdin (gzip, bzip2, xz, zstd too)");
    extract->add_flag("--devices", xo.devices, "make character and block devices (else refused)");
    extract->add_flag("--no-overwrite-dir-non-dir", xo.no_overwrite_dir_non_dir,
                      "refuse to replace a directory by a non-directory or the reverse (docker's noOverwriteDirNonDir)");
    extract->add_flag("--no-same-owner", no_same_owner, "entries belong to the caller, not to the tar's owners");
    extract->add_option("ROOT", extract_root, "the root DIR is resolved in (a container's rootfs, or /)")->required();
    extract->add_option("DIR", extract_dir, "the existing directory written to, absolute inside ROOT")->required();

    std::string diff_bundle;
    auto diff = app.add_subcommand("diff", "A bundle's changes as docker diff lists them (JSON: [{\"Path\",\"Kind\"}])");
    diff->add_option("BUNDLE", diff_bundle, "an img-unpack bundle (a container's)")->required();

    std::vector<std::string> untag_refs;
    auto untag = app.add_subcommand("untag", "Remove names (not images)");
    untag->add_option("REF", untag_refs, "names to remove")->required();

    std::vector<std::string> rm_images;
    bool force = false;
    auto rm = app.add_subcommand("rm", "Remove images (docker rmi; containers are not checked)");
    rm->add_option("IMAGE", rm_images, "images to remove")->required();
    rm->add_flag("-f,--force", force, "remove an image by ID even when several names point at it");

    std::string import_source, import_tag, import_platform;
    std::vector<std::string> import_changes;
    std::string import_message, import_created;
    auto imp = app.add_subcommand("import", "A root filesystem (tarball, any compression, or directory) as an image");
    imp->add_option("SOURCE", import_source, "a tar file, - for stdin, or a directory")->required();
    imp->add_option("-c,--change", import_changes, "a Dockerfile instruction (as commit)");
    imp->add_option("-m,--message", import_message, "the history entry's comment");
    imp->add_option("-t,--tag", import_tag, "a name for the image");
    imp->add_option("--platform", import_platform, "os/arch[/variant] (default: this machine)");
    imp->add_option("--created", import_created, "RFC 3339 creation time (default: SOURCE_DATE_EPOCH, else now)");

    std::vector<std::string> save_images;
    std::string save_output;
    auto save = app.add_subcommand("save", "Images as a docker-archive tar (docker save)");
    save->add_option("IMAGE", save_images, "images to save")->required();
    save->add_option("-o,--output", save_output, "write to FILE instead of stdout");

    std::string load_input;
    auto load = app.add_subcommand("load", "Images from a docker-archive tar (docker load)");
    load->add_option("-i,--input", load_input, "read FILE instead of stdin (gzip, bzip2, xz, zstd too)");

    return ctk::cli_main("img-pack", app, argc, argv, [&]() -> int {
        if (archive->parsed()) {
            ctk::UniqueFd root = ctk::open_dir(absolute(archive_root));
            std::string name = archive_name.empty() ? ctk::image::archive_top_name(archive_path) : archive_name;
            write_output(archive_output, "cowardly refusing to write a tar to a terminal: use -o or redirect stdout",
                         [&](int fd) {
                             if (archive_contents) ctk::image::write_tree_contents_tar(root.get(), archive_path, fd);
                             else ctk::image::write_tree_tar(root.get(), archive_path, name, fd);
                         });
            return 0;
        }
        if (extract->parsed()) {
            xo.preserve_owners = !no_same_owner;
            ctk::UniqueFd root = ctk::open_dir(absolute(extract_root)), in;
            int fd = 0;
            if (!extract_input.empty()) {
                in = ctk::open_path(extract_input, O_RDONLY | O_CLOEXEC);
                fd = in.get();
            }
            auto stats = ctk::image::extract_tree_tar(root.get(), extract_dir, fd, xo);
            ctk::print_json(Json{{"root", absolute(extract_root)}, {"dir", extract_dir}, {"entries", stats.entries}});
            return 0;
        }
        auto store = ctk::image::ImageStore::at_layout(absolute(layout));
        if (layer->parsed()) {
            auto src = layer_source(la);
            if (src.empty()) throw Error("give a layer source: --bundle, --upper or --diff", ErrorKind::usage);
            ctk::image::LayoutChange change(store.layout());
            auto w = ctk::image::write_layer(change, src, unpack_flat);
            change.commit();
            ctk::print_json(layer_json(w));
        } else if (commit->parsed()) {
            ctk::image::CommitRequest r;
            r.base = base;
            if (!platform.empty()) r.platform = ctk::oci::Platform::parse(platform);
            r.layer = layer_source(ca);
            if (!config_file.empty()) {
                std::string text = config_file == "-" ? ctk::read_fd(0, 4u << 20) : ctk::read_file(config_file, 4u << 20);
                r.config = ctk::parse_json(text, config_file == "-" ? "stdin" : config_file);
            }
            r.changes = changes;
            r.author = author;
            r.message = message;
            r.created_by = created_by;
            r.created = created;
            r.tags = tags;
            if (!set_config_file.empty())
                r.set_config = ctk::parse_json(ctk::read_file(set_config_file, 4u << 20), set_config_file);
            r.index = !no_index;
            auto out = ctk::image::commit_image(store, r, unpack_flat);
            Json j = out.json();
            if (out.layer) j["layer"] = layer_json(*out.layer);
            ctk::print_json(j);
        } else if (copy->parsed()) {
            if (!copy_ignore_file.empty()) cs.dockerignore = ctk::read_file(copy_ignore_file, 4u << 20);
            cs.from = absolute(cs.from);
            ctk::build::copy_into_root(absolute(copy_root), cs);
            ctk::print_json(Json{{"rootfs", absolute(copy_root)}, {"dest", cs.dest}, {"copied", true}});
        } else if (mkdir->parsed()) {
            ctk::build::make_dir_in_root(absolute(mkdir_root), mkdir_path);
            ctk::print_json(Json{{"rootfs", absolute(mkdir_root)}, {"path", mkdir_path}, {"made", true}});
        } else if (diff->parsed()) {
            Json out = Json::array();
            for (const auto& c : ctk::image::bundle_diff(store.layout(), absolute(diff_bundle), unpack_flat))
                out.push_back(Json{{"Path", c.path}, {"Kind", int(c.kind)}});
            ctk::print_json(out);
        } else if (tag->parsed()) {
            ctk::print_json(ctk::image::tag_image(store, tag_image, tag_targets));
        } else if (untag->parsed()) {
            ctk::print_json(ctk::image::untag_references(store, untag_refs));
        } else if (rm->parsed()) {
            ctk::print_json(ctk::image::remove_images(store, rm_images, force));
        } else if (imp->parsed()) {
            ctk::image::ImportRequest r;
            r.source = import_source == "-" ? import_source : absolute(import_source);
            r.changes = import_changes;
            r.message = import_message;
            r.reference = import_tag;
            if (!import_platform.empty()) r.platform = ctk::oci::Platform::parse(import_platform);
            r.created = import_created;
            if (r.message.empty()) r.message = "Imported from " + import_source;
            ctk::print_json(ctk::image::import_image(store, r));
        } else if (save->parsed()) {
            write_output(save_output, "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                         [&](int fd) { ctk::image::save_images(store, save_images, fd); });
        } else if (load->parsed()) {
            ctk::UniqueFd in;
            int fd = 0;
            if (!load_input.empty()) {
                in = ctk::open_path(load_input, O_RDONLY | O_CLOEXEC);
                fd = in.get();
            }
            Json loaded = Json::array();
            for (const auto& l : ctk::image::load_images(store, fd))
                loaded.push_back(Json{{"id", l.id}, {"tags", l.tags}});
            ctk::print_json(Json{{"loaded", loaded}});
        }
        return 0;
    });
}
