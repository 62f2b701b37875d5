// zlib for Swift: `inflateInit2` and `deflateInit2` are macros (they pass the library's version
// and the stream's size), so Swift calls them through these wrappers.
#ifndef WIRESTREAM_CZLIB_SHIM_H
#define WIRESTREAM_CZLIB_SHIM_H

#include <zlib.h>

static inline int ws_inflate_init(z_stream *stream, int windowBits) { return inflateInit2(stream, windowBits); }
static inline int ws_deflate_init(z_stream *stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

#endif
