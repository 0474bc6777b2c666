#include "image/archive_io.hpp"

#include <zlib.h>

#include <cstring>

#include "core/error.hpp"
#include "oci/media_types.hpp"

namespace ctk::image {

void archive_fail(archive* a, const std::string& what) {
    const char* msg = archive_error_string(a);
    throw_invalid(what + ": " + (msg ? msg : "archive error"));
}

void support_compressions(archive* a) {
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_zstd(a);
}

struct GzipLayerSink::Zlib {
    z_stream zs;
};

GzipLayerSink::GzipLayerSink(const oci::Layout& layout) : layout_(layout), blob_(layout.begin_blob()), z_(new Zlib) {
    std::memset(&z_->zs, 0, sizeof z_->zs);
    if (deflateInit2(&z_->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        delete z_;
        throw Error("gzip: deflateInit2 failed");
    }
}

GzipLayerSink::~GzipLayerSink() {
    deflateEnd(&z_->zs);
    delete z_;
}

void GzipLayerSink::write(const void* data, size_t size) {
    diff_.update(data, size);
    z_->zs.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    z_->zs.avail_in = static_cast<uInt>(size);
    pump(Z_NO_FLUSH);
}

la_ssize_t GzipLayerSink::write_callback(archive*, void* self, const void* buf, size_t n) {
    try {
        static_cast<GzipLayerSink*>(self)->write(buf, n);
    } catch (...) {
        return -1;
    }
    return static_cast<la_ssize_t>(n);
}

void GzipLayerSink::pump(int flush) {
    unsigned char out[65536];
    for (;;) {
        z_->zs.next_out = out;
        z_->zs.avail_out = sizeof out;
        int rc = deflate(&z_->zs, flush);
        if (rc == Z_STREAM_ERROR) throw Error("gzip: deflate failed");
        size_t have = sizeof out - z_->zs.avail_out;
        if (have) blob_.write(out, have);
        if (flush == Z_FINISH ? rc == Z_STREAM_END : z_->zs.avail_out != 0) break;
    }
}

WrittenLayer GzipLayerSink::finish() {
    z_->zs.next_in = nullptr;
    z_->zs.avail_in = 0;
    pump(Z_FINISH);
    WrittenLayer out;
    out.diff_id = diff_.digest();
    out.tar_size = diff_.size();
    out.entries = 1;
    out.descriptor.media_type = std::string(oci::media::oci_layer_gzip);
    out.descriptor.size = static_cast<int64_t>(blob_.size());
    Digest d = blob_.verify();
    out.new_blob = !layout_.has_blob(d);
    out.descriptor.digest = blob_.commit();
    return out;
}

Digest decompressed_digest(const oci::Layout& layout, const Digest& blob,
                           const std::function<void(const char*, size_t)>& sink) {
    std::string what = "layer " + blob.str();
    UniqueFd fd = layout.open_blob(blob);
    ReadArchive in;
    archive_read_support_filter_gzip(in.a);
    archive_read_support_filter_zstd(in.a);
    archive_read_support_format_raw(in.a);
    if (archive_read_open_fd(in.a, fd.get(), 65536) != ARCHIVE_OK) archive_fail(in.a, what);
    archive_entry* e;
    int r = archive_read_next_header(in.a, &e);
    Hasher h;
    if (r == ARCHIVE_EOF) return h.digest(); // an empty blob
    if (r != ARCHIVE_OK) archive_fail(in.a, what);
    char buf[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(in.a, buf, sizeof buf);
        if (n < 0) archive_fail(in.a, what);
        if (n == 0) break;
        h.update(buf, static_cast<size_t>(n));
        if (sink) sink(buf, static_cast<size_t>(n));
    }
    return h.digest();
}

} // namespace ctk::image
