// zlib for Swift: `inflateInit2` is a macro (it passes the library's version and the stream's
// size), so Swift calls it through this wrapper.
#ifndef WIRESTREAM_CZLIB_SHIM_H
#define WIRESTREAM_CZLIB_SHIM_H

#include <zlib.h>

static inline int ws_inflate_init(z_stream *stream, int windowBits) { return inflateInit2(stream, windowBits); }

#endif
