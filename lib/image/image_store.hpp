// Local images: the store's one OCI image layout ($CTK_ROOT/images), seen the
// way Docker shows images. An image's ID is its config digest; its tags are
// the index.json entries whose org.opencontainers.image.ref.name is a full
// normalised reference (CONTRACTS.md), shown in Docker's familiar form
// ("tiny:latest" for docker.io/library/tiny:latest).
//
// Lookups follow Docker: a full ID ("sha256:…" or 64 hex), a reference
// (normalised, default tag latest; name@digest too), then a unique ID prefix.
// "@sha256:<manifest digest>" names a manifest blob of the layout whether or
// not index.json lists it (the untagged intermediate images of a build).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "oci/layout.hpp"
#include "store/paths.hpp"

namespace ctk::image {

struct LocalImage {
    oci::ResolvedImage resolved;
    Json config;                          // the image config as stored (unknown fields kept)
    std::string id;                       // "sha256:<config digest>"
    std::vector<std::string> ref_names;   // full references tagged on this image
    std::vector<oci::Descriptor> entries; // its index.json entries (none: a manifest blob only)

    std::vector<std::string> repo_tags() const;    // familiar "name:tag"
    std::vector<std::string> repo_digests() const; // familiar "name@sha256:<manifest>"
    int64_t size() const;                          // sum of the layer blobs
    int64_t created_unix() const;                  // config "created", 0 when absent
};

// "busybox" -> "docker.io/library/busybox:latest"; throws invalid on a bad reference.
std::string normalize_reference(std::string_view ref);
// The familiar form of a full reference ("docker.io/library/tiny:latest" -> "tiny:latest").
std::string familiar_reference(std::string_view full);

class ImageStore {
public:
    explicit ImageStore(store::Paths paths);
    // A store whose image layout is `layout` (img-pack --layout).
    static ImageStore at_layout(const std::string& layout);

    std::string layout_path() const { return images_; }
    const store::Paths& paths() const { return paths_; }
    // The layout, created when missing.
    oci::Layout layout() const;

    std::vector<LocalImage> list() const;
    std::optional<LocalImage> find(std::string_view ref) const;
    // not_found: "No such image: REF"
    LocalImage get(std::string_view ref) const;
    // Whether `ref` names something in the store, and the full reference to pass
    // to img-unpack (a tag, or the manifest digest for an ID or untagged image).
    std::string unpack_ref(const LocalImage& image, std::string_view asked) const;

    // docker tag SOURCE TARGET
    void tag(std::string_view source, std::string_view target) const;

    // docker rmi: returns [{"Untagged": …}, {"Deleted": …}] as the Engine API does.
    // `in_use(image_id)` names a container using the image ("" when none).
    Json remove(std::string_view ref, bool force,
                const std::function<std::string(const std::string&)>& in_use) const;

    // What remove() does, decided but not done (ctl makes it a plan): the
    // names that leave the index and, when the last one goes, the image's
    // index entries and the blobs no other entry reaches.
    struct Removal {
        std::vector<std::string> untag;           // ref names
        std::vector<oci::Descriptor> entries;     // index entries removed with the image (none: it stays)
        std::vector<std::string> blobs;           // digests of blobs to delete
        Json result = Json::array();              // remove()'s answer
    };
    Removal removal(std::string_view ref, bool force,
                    const std::function<std::string(const std::string&)>& in_use) const;

    // Adds an index entry for a manifest written into the layout, tagged with
    // each of `refs` (full references), or untagged when empty.
    void add(const oci::Descriptor& manifest, const std::vector<std::string>& refs) const;

    // Deletes the blobs reachable from `removed` that no index entry reaches.
    void delete_unreferenced(const std::vector<oci::Descriptor>& removed) const;

private:
    store::Paths paths_;
    std::string images_;
};

// The index edits behind add(), tag() and remove(), on an index read under
// the layout's lock by a caller that holds it for a whole change (img-pack).
// add(): `manifest` tagged with each full reference of `refs` (moved off any
// other image), or listed untagged when `refs` is empty.
void index_add(oci::Index& index, const oci::Descriptor& manifest, const std::vector<std::string>& refs);
// Drops the entries named `ref_name`; false when there was none.
bool index_untag(oci::Index& index, std::string_view ref_name);
// Drops the entries whose digest is one of `entries`'.
void index_remove(oci::Index& index, const std::vector<oci::Descriptor>& entries);

} // namespace ctk::image
