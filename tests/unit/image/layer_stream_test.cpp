#include "image/layer_stream.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "tar_builder.hpp"

using namespace ctk;
using namespace ctk::image;
using ctk::test::gzip;
using ctk::test::memfd_with;
using ctk::test::zstd;

namespace {

std::string sample(size_t n) {
    std::string s(n, '\0');
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245 + 12345;
        // compressible but not trivially
        s[i] = static_cast<char>((x >> 16) % 16 + 'a');
    }
    return s;
}

struct Read {
    std::string data;
    StreamDigests digests;
};

Read read_all(const std::string& blob, oci::Compression c, StreamOptions o = {}) {
    UniqueFd fd = memfd_with(blob);
    LayerStream s({fd.get(), 0, blob.size()}, c, "layer test", o);
    Read r;
    for (auto chunk = s.next(); !chunk.empty(); chunk = s.next())
        r.data.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    r.digests = s.finish();
    return r;
}

std::string error_of(const std::string& blob, oci::Compression c, StreamOptions o = {}) {
    try {
        read_all(blob, c, o);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
        return e.what();
    }
    return "no error";
}

} // namespace

TEST(LayerStream, Plain) {
    std::string data = sample(3u << 20);
    Read r = read_all(data, oci::Compression::none);
    EXPECT_EQ(r.data, data);
    EXPECT_EQ(r.digests.diff_id, Digest::sha256_of(data));
    EXPECT_EQ(r.digests.blob, r.digests.diff_id);
    EXPECT_EQ(r.digests.blob_size, data.size());
}

TEST(LayerStream, GzipWholeBufferAndStreaming) {
    std::string data = sample(5u << 20);
    std::string gz = gzip(data);
    for (uint64_t limit : {uint64_t(1) << 30, uint64_t(0)}) {
        StreamOptions o;
        o.whole_buffer_limit = limit; // 0: zlib streaming
        Read r = read_all(gz, oci::Compression::gzip, o);
        EXPECT_EQ(r.data.size(), data.size());
        EXPECT_TRUE(r.data == data);
        EXPECT_EQ(r.digests.diff_id, Digest::sha256_of(data));
        EXPECT_EQ(r.digests.blob, Digest::sha256_of(gz));
        EXPECT_EQ(r.digests.blob_size, gz.size());
        EXPECT_EQ(r.digests.diff_size, data.size());
    }
}

TEST(LayerStream, SmallChunksRecycleBuffers) {
    std::string data = sample(300000);
    StreamOptions o;
    o.chunk_size = 4096;
    for (auto [blob, c] : {std::pair{gzip(data), oci::Compression::gzip},
                           std::pair{zstd(data), oci::Compression::zstd},
                           std::pair{data, oci::Compression::none}}) {
        Read r = read_all(blob, c, o);
        EXPECT_TRUE(r.data == data);
        o.whole_buffer_limit = 0;
        EXPECT_TRUE(read_all(blob, c, o).data == data);
    }
}

TEST(LayerStream, GzipMultiMemberAndPadding) {
    std::string a = sample(100000), b = sample(70000);
    std::string gz = gzip(a) + gzip(b) + std::string(512, '\0');
    Read r = read_all(gz, oci::Compression::gzip);
    EXPECT_TRUE(r.data == a + b);
    EXPECT_EQ(r.digests.diff_id, Digest::sha256_of(a + b));
    EXPECT_EQ(r.digests.blob, Digest::sha256_of(gz));
}

TEST(LayerStream, Zstd) {
    std::string data = sample(4u << 20);
    std::string z = zstd(data) + zstd("tail"); // two frames
    Read r = read_all(z, oci::Compression::zstd);
    EXPECT_TRUE(r.data == data + "tail");
    EXPECT_EQ(r.digests.blob, Digest::sha256_of(z));
}

TEST(LayerStream, TruncatedAndCorruptStreams) {
    std::string data = sample(1u << 20);
    std::string gz = gzip(data), z = zstd(data);
    EXPECT_NE(error_of(gz.substr(0, gz.size() / 2), oci::Compression::gzip).find("unexpected end"),
              std::string::npos);
    // Without its 8-byte trailer (CRC and size) a member is unfinished too.
    EXPECT_NE(error_of(gz.substr(0, gz.size() - 8), oci::Compression::gzip).find("gzip"), std::string::npos);
    std::string bad = gz;
    for (size_t i = 100; i < 200; i++) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_NE(error_of(bad, oci::Compression::gzip).find("layer test: gzip: "), std::string::npos);
    EXPECT_NE(error_of("not gzip at all, not even close", oci::Compression::gzip).find("gzip"),
              std::string::npos);
    EXPECT_NE(error_of("", oci::Compression::gzip).find("unexpected end"), std::string::npos);
    EXPECT_NE(error_of(z.substr(0, z.size() - 10), oci::Compression::zstd).find("zstd: unexpected end"),
              std::string::npos);
    std::string badz = z;
    badz[0] = 'x';
    EXPECT_NE(error_of(badz, oci::Compression::zstd).find("layer test: zstd: "), std::string::npos);
    // gzip followed by garbage that is not another member
    EXPECT_NE(error_of(gz + "garbage", oci::Compression::gzip).find("gzip"), std::string::npos);
}

TEST(LayerStream, BlobShorterThanDescriptor) {
    std::string data = sample(10000);
    UniqueFd fd = memfd_with(data);
    LayerStream s({fd.get(), 0, data.size() + 100}, oci::Compression::none, "layer short");
    try {
        s.finish();
        FAIL() << "read past the end";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("shorter than its descriptor"), std::string::npos) << e.what();
    }
}

TEST(LayerStream, RangeOfAFile) {
    std::string data = sample(50000);
    std::string file = "HEADER" + gzip(data) + "TRAILER";
    UniqueFd fd = memfd_with(file);
    LayerStream s({fd.get(), 6, file.size() - 13}, oci::Compression::gzip, "member");
    std::string out;
    for (auto c = s.next(); !c.empty(); c = s.next()) out.append(reinterpret_cast<const char*>(c.data()), c.size());
    EXPECT_TRUE(out == data);
    EXPECT_EQ(s.finish().blob, Digest::sha256_of(gzip(data)));
}

TEST(LayerStream, AbandonedMidwayDoesNotHang) {
    std::string data = sample(8u << 20);
    std::string z = zstd(data);
    UniqueFd fd = memfd_with(z);
    StreamOptions o;
    o.chunk_size = 4096;
    LayerStream s({fd.get(), 0, z.size()}, oci::Compression::zstd, "abandoned", o);
    EXPECT_FALSE(s.next().empty());
    // destructor cancels the producer blocked on a full queue
}
