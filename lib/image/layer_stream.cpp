#include "image/layer_stream.hpp"

#include <libdeflate.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <utility>
#include <optional>
#include <vector>

#include "core/error.hpp"

namespace ctk::image {

namespace {

// Anonymous memory for large buffers: untouched pages cost nothing, and
// nothing is zero-filled up front (std::vector would).
class Mapping {
public:
    Mapping() = default;
    explicit Mapping(size_t size) : size_(size ? size : 1) {
        void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw_errno("mmap " + std::to_string(size_) + " bytes");
        data_ = static_cast<unsigned char*>(p);
        ::madvise(data_, size_, MADV_HUGEPAGE);
    }
    Mapping(Mapping&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    Mapping& operator=(Mapping&& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        return *this;
    }
    ~Mapping() {
        if (data_) ::munmap(data_, size_);
    }
    unsigned char* data() const noexcept { return data_; }

private:
    unsigned char* data_ = nullptr;
    size_t size_ = 0;
};

struct Cancelled {};

// Reads exactly `size` bytes at `offset`; a short file is an error.
void pread_full(int fd, unsigned char* buf, size_t size, uint64_t offset, const std::string& what) {
    while (size > 0) {
        ssize_t n = ::pread(fd, buf, size, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", what);
        }
        if (n == 0) throw_invalid(what + ": blob is shorter than its descriptor says");
        buf += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
}

} // namespace

struct LayerStream::Shared {
    BlobRange blob;
    oci::Compression compression;
    std::string what;
    StreamOptions options;

    struct Chunk {
        const unsigned char* data;
        size_t size;
        int buffer; // index into pool, -1 for a view of `whole`
    };

    std::mutex m;
    std::condition_variable consumer_cv, producer_cv;
    std::deque<Chunk> ready;
    std::vector<std::unique_ptr<unsigned char[]>> pool;
    std::vector<int> free_buffers;
    int held = -1;
    bool done = false;
    bool cancel = false;
    std::exception_ptr error;
    StreamDigests digests;
    Mapping whole;         // the inflated layer on the libdeflate path
    Mapping compressed;    // the blob itself on that path

    // --- producer side
    unsigned char* acquire(int& index) {
        std::unique_lock lock(m);
        producer_cv.wait(lock, [&] { return cancel || !free_buffers.empty(); });
        if (cancel) throw Cancelled{};
        index = free_buffers.back();
        free_buffers.pop_back();
        return pool[static_cast<size_t>(index)].get();
    }
    void release(int index) {
        std::lock_guard lock(m);
        free_buffers.push_back(index);
    }
    void push(const unsigned char* data, size_t size, int index) {
        {
            std::lock_guard lock(m);
            if (cancel) throw Cancelled{};
            ready.push_back({data, size, index});
        }
        consumer_cv.notify_one();
    }
    void finish(std::exception_ptr e) {
        {
            std::lock_guard lock(m);
            done = true;
            error = e;
        }
        consumer_cv.notify_all();
    }

    void run();
    void run_plain();
    void run_gzip();
    void inflate_stream(const unsigned char* in_memory, Hasher* blob_hash, Hasher& diff_hash);
    void run_zstd();
};

void LayerStream::Shared::run() {
    try {
        switch (compression) {
        case oci::Compression::none: run_plain(); break;
        case oci::Compression::gzip: run_gzip(); break;
        case oci::Compression::zstd: run_zstd(); break;
        }
        finish(nullptr);
    } catch (const Cancelled&) {
        finish(nullptr);
    } catch (...) {
        finish(std::current_exception());
    }
}

void LayerStream::Shared::run_plain() {
    // An uncompressed layer's blob digest is its DiffID: one hash serves both
    // unless they use different algorithms.
    Hasher hash(options.diff_algorithm);
    std::optional<Hasher> blob_hash;
    if (options.blob_algorithm != options.diff_algorithm) blob_hash.emplace(options.blob_algorithm);
    const size_t chunk = options.chunk_size;
    for (uint64_t off = 0; off < blob.length;) {
        int index;
        unsigned char* buf = acquire(index);
        size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, blob.length - off));
        pread_full(blob.fd, buf, n, blob.offset + off, what);
        hash.update(buf, n);
        if (blob_hash) blob_hash->update(buf, n);
        push(buf, n, index);
        off += n;
    }
    digests.blob_size = digests.diff_size = hash.size();
    digests.diff_id = hash.digest();
    digests.blob = blob_hash ? blob_hash->digest() : digests.diff_id;
}

void LayerStream::Shared::run_gzip() {
    Hasher blob_hash(options.blob_algorithm), diff_hash(options.diff_algorithm);
    // RFC 1952: the last 4 bytes hold the uncompressed size modulo 2^32.
    uint64_t isize = 0;
    if (blob.length >= 18) {
        unsigned char tail[4];
        pread_full(blob.fd, tail, 4, blob.offset + blob.length - 4, what);
        isize = uint64_t(tail[0]) | uint64_t(tail[1]) << 8 | uint64_t(tail[2]) << 16 |
                uint64_t(tail[3]) << 24;
    }
    if (blob.length < 18 || isize > options.whole_buffer_limit ||
        blob.length > options.whole_buffer_limit) {
        inflate_stream(nullptr, &blob_hash, diff_hash);
    } else {
        compressed = Mapping(blob.length);
        pread_full(blob.fd, compressed.data(), blob.length, blob.offset, what);
        whole = Mapping(isize);
        libdeflate_decompressor* d = libdeflate_alloc_decompressor();
        if (!d) throw Error(what + ": out of memory");
        size_t in_used = 0, out_used = 0;
        libdeflate_result r = libdeflate_gzip_decompress_ex(
            d, compressed.data(), blob.length, whole.data(), isize, &in_used, &out_used);
        libdeflate_free_decompressor(d);
        if (r == LIBDEFLATE_SUCCESS && in_used == blob.length && out_used == isize) {
            for (uint64_t off = 0; off < isize;) {
                size_t n = static_cast<size_t>(std::min<uint64_t>(options.chunk_size, isize - off));
                push(whole.data() + off, n, -1);
                off += n;
            }
            // The consumer works on the data meanwhile: hashing here is off its path.
            diff_hash.update(whole.data(), isize);
            blob_hash.update(compressed.data(), blob.length);
        } else {
            // Multi-member gzip, trailing bytes or corrupt data: zlib streams it
            // and says precisely what is wrong.
            whole = Mapping();
            blob_hash.update(compressed.data(), blob.length);
            inflate_stream(compressed.data(), nullptr, diff_hash);
        }
    }
    digests.blob_size = blob_hash.size();
    digests.blob = blob_hash.digest();
    digests.diff_size = diff_hash.size();
    digests.diff_id = diff_hash.digest();
}

// zlib over the blob, read in chunks (or from memory when `in_memory`).
// Several gzip members follow each other as one stream (RFC 1952 2.2); zero
// bytes after the last member are padding and ignored, as gzip(1) does.
void LayerStream::Shared::inflate_stream(const unsigned char* in_memory, Hasher* blob_hash,
                                         Hasher& diff_hash) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw Error(what + ": inflateInit2 failed");
    struct ZGuard {
        z_stream* z;
        ~ZGuard() { inflateEnd(z); }
    } guard{&z};
    std::vector<unsigned char> inbuf(in_memory ? 0 : options.chunk_size);
    const size_t chunk = options.chunk_size;
    bool member_open = true; // inside a member (or expecting the first one)
    // A call that filled the whole output buffer may have left output inside
    // zlib: call again even without new input.
    bool pending = false;
    for (uint64_t off = 0; off < blob.length || pending || z.avail_in > 0;) {
        if (z.avail_in == 0 && off < blob.length) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, blob.length - off));
            const unsigned char* in;
            if (in_memory) {
                in = in_memory + off;
            } else {
                pread_full(blob.fd, inbuf.data(), n, blob.offset + off, what);
                in = inbuf.data();
            }
            if (blob_hash) blob_hash->update(in, n);
            off += n;
            z.next_in = const_cast<unsigned char*>(in);
            z.avail_in = static_cast<uInt>(n);
        }
        if (!member_open) {
            if (z.avail_in == 0) continue;
            if (*z.next_in == 0) {
                z.next_in++;
                z.avail_in--;
                continue;
            }
            if (inflateReset(&z) != Z_OK) throw Error(what + ": inflateReset failed");
            member_open = true;
        }
        int index;
        unsigned char* out = acquire(index);
        z.next_out = out;
        z.avail_out = static_cast<uInt>(chunk);
        int r = inflate(&z, Z_NO_FLUSH);
        size_t produced = chunk - z.avail_out;
        if (produced > 0) {
            diff_hash.update(out, produced);
            push(out, produced, index);
        } else {
            release(index);
        }
        pending = z.avail_out == 0;
        if (r == Z_STREAM_END) {
            member_open = false;
            pending = false;
        } else if (r == Z_BUF_ERROR) {
            pending = false; // no progress possible without more input
        } else if (r != Z_OK) {
            throw_invalid(what + ": gzip: " + (z.msg ? z.msg : "corrupt data"));
        }
    }
    if (member_open) throw_invalid(what + ": gzip: unexpected end of the compressed data");
}

void LayerStream::Shared::run_zstd() {
    Hasher blob_hash(options.blob_algorithm), diff_hash(options.diff_algorithm);
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    if (!dctx) throw Error(what + ": out of memory");
    struct DGuard {
        ZSTD_DCtx* d;
        ~DGuard() { ZSTD_freeDCtx(d); }
    } guard{dctx};
    const size_t chunk = options.chunk_size;
    std::vector<unsigned char> inbuf(chunk);
    size_t last = 1; // ZSTD_decompressStream's hint: 0 when a frame is complete
    for (uint64_t off = 0; off < blob.length;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, blob.length - off));
        pread_full(blob.fd, inbuf.data(), n, blob.offset + off, what);
        blob_hash.update(inbuf.data(), n);
        off += n;
        ZSTD_inBuffer in{inbuf.data(), n, 0};
        bool full;
        do {
            int index;
            unsigned char* out = acquire(index);
            ZSTD_outBuffer o{out, chunk, 0};
            last = ZSTD_decompressStream(dctx, &o, &in);
            if (ZSTD_isError(last)) {
                release(index);
                throw_invalid(what + ": zstd: " + ZSTD_getErrorName(last));
            }
            if (o.pos > 0) {
                diff_hash.update(out, o.pos);
                push(out, o.pos, index);
            } else {
                release(index);
            }
            full = o.pos == o.size;
        } while (in.pos < in.size || full);
    }
    if (last != 0) throw_invalid(what + ": zstd: unexpected end of the compressed data");
    digests.blob_size = blob_hash.size();
    digests.blob = blob_hash.digest();
    digests.diff_size = diff_hash.size();
    digests.diff_id = diff_hash.digest();
}

LayerStream::LayerStream(BlobRange blob, oci::Compression compression, std::string what,
                         StreamOptions options)
    : shared_(std::make_unique<Shared>()) {
    Shared& s = *shared_;
    s.blob = blob;
    s.compression = compression;
    s.what = std::move(what);
    s.options = options;
    // Four buffers: one the consumer holds, the others in flight.
    const int buffers = 4;
    for (int i = 0; i < buffers; i++) {
        s.pool.push_back(std::make_unique_for_overwrite<unsigned char[]>(options.chunk_size));
        s.free_buffers.push_back(i);
    }
    producer_ = std::thread([&s] { s.run(); });
}

LayerStream::~LayerStream() {
    {
        std::lock_guard lock(shared_->m);
        shared_->cancel = true;
    }
    shared_->producer_cv.notify_all();
    if (producer_.joinable()) producer_.join();
}

std::span<const unsigned char> LayerStream::next() {
    Shared& s = *shared_;
    std::unique_lock lock(s.m);
    if (s.held >= 0) {
        s.free_buffers.push_back(s.held);
        s.held = -1;
        s.producer_cv.notify_one();
    }
    s.consumer_cv.wait(lock, [&] { return !s.ready.empty() || s.done; });
    if (!s.ready.empty()) {
        Shared::Chunk c = s.ready.front();
        s.ready.pop_front();
        s.held = c.buffer;
        return {c.data, c.size};
    }
    if (s.error) std::rethrow_exception(s.error);
    return {};
}

StreamDigests LayerStream::finish() {
    while (!next().empty()) {
    }
    if (producer_.joinable()) producer_.join();
    return shared_->digests;
}

} // namespace ctk::image
