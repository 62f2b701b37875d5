// PCRE2 for Swift: the 8-bit library, with wrappers for what Swift cannot import
// (the generic names are function-like macros; PCRE2_ZERO_TERMINATED and PCRE2_UNSET are casts).
#ifndef WIRESTREAM_CPCRE2_SHIM_H
#define WIRESTREAM_CPCRE2_SHIM_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static inline size_t ws_pcre2_unset(void) { return PCRE2_UNSET; }

static inline pcre2_code_8 *ws_pcre2_compile(const uint8_t *pattern, size_t length, uint32_t options,
                                              int *errorcode, size_t *erroroffset) {
    return pcre2_compile_8((PCRE2_SPTR8)pattern, length, options, errorcode, erroroffset, NULL);
}

static inline int ws_pcre2_message(int code, uint8_t *buffer, size_t size) {
    return pcre2_get_error_message_8(code, (PCRE2_UCHAR8 *)buffer, size);
}

static inline int ws_pcre2_match(const pcre2_code_8 *code, const uint8_t *subject, size_t length,
                                 size_t start, uint32_t options, pcre2_match_data_8 *data) {
    return pcre2_match_8(code, (PCRE2_SPTR8)subject, length, start, options, data, NULL);
}

/// `ws_pcre2_match` for a pattern JIT-compiled for both complete and partial-hard matching:
/// `pcre2_jit_match` skips `pcre2_match`'s argument checks and dispatch (4% of a buffered regex read).
static inline int ws_pcre2_jit_match(const pcre2_code_8 *code, const uint8_t *subject, size_t length,
                                     size_t start, uint32_t options, pcre2_match_data_8 *data) {
    return pcre2_jit_match_8(code, (PCRE2_SPTR8)subject, length, start, options, data, NULL);
}

/// The number of named groups in `code`.
static inline uint32_t ws_pcre2_name_count(const pcre2_code_8 *code) {
    uint32_t count = 0;
    pcre2_pattern_info_8(code, PCRE2_INFO_NAMECOUNT, &count);
    return count;
}

/// Entry `index` of the name table: sets `*name` (zero-terminated) and returns the group number.
/// Each entry is a 2-byte big-endian group number followed by the name.
static inline int ws_pcre2_name_entry(const pcre2_code_8 *code, uint32_t index, const char **name) {
    uint32_t size = 0;
    PCRE2_SPTR8 table = NULL;
    pcre2_pattern_info_8(code, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info_8(code, PCRE2_INFO_NAMETABLE, &table);
    const uint8_t *entry = table + (size_t)index * size;
    *name = (const char *)(entry + 2);
    return (entry[0] << 8) | entry[1];
}

#endif
