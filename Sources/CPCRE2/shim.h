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

#endif
