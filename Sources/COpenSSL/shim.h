// OpenSSL 3 for Swift: static inline wrappers for the macros Swift cannot call, and the few
// helpers (ALPN selection, SAN listing, error text) that are clumsy through raw pointers.
#ifndef WIRESTREAM_COPENSSL_SHIM_H
#define WIRESTREAM_COPENSSL_SHIM_H

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static inline long ws_ssl_set_sni(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline int ws_ssl_ctx_set_min_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline void ws_ssl_ctx_set_nonblocking_modes(SSL_CTX *ctx) {
    // Writes from Swift buffers may be retried from another address, and may be partial.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}
static inline void ws_ssl_ctx_set_options(SSL_CTX *ctx, int ignoreUnexpectedEOF) {
    uint64_t options = SSL_OP_NO_RENEGOTIATION;
    if (ignoreUnexpectedEOF) options |= SSL_OP_IGNORE_UNEXPECTED_EOF;
    SSL_CTX_set_options(ctx, options);
}
static inline const char *ws_ssl_cipher_name(const SSL *ssl) {
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    return cipher ? SSL_CIPHER_get_name(cipher) : NULL;
}

static inline long ws_ssl_ctx_add_extra_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return SSL_CTX_add_extra_chain_cert(ctx, cert);
}

/// The first error in OpenSSL's queue as text ("" if none); clears the queue.
static inline void ws_ssl_error_text(char *buffer, size_t size) {
    unsigned long code = ERR_get_error();
    buffer[0] = 0;
    if (code != 0) ERR_error_string_n(code, buffer, size);
    ERR_clear_error();
}
/// The reason part of the first queued error ("certificate verify failed"), or NULL.
static inline const char *ws_ssl_peek_reason(void) {
    unsigned long code = ERR_peek_error();
    return code ? ERR_reason_error_string(code) : NULL;
}

// Server-side ALPN: choose the first of our protocols the client offers.
static int ws_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    const unsigned char *ours = (const unsigned char *)arg;
    unsigned int ourLength = ours[0] | (ours[1] << 8);
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, ours + 2, ourLength, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}
/// Installs server ALPN: `ours` is a 2-byte little-endian length, then the protocols in wire
/// format. The caller owns `ours` and keeps it alive as long as `ctx` (TLSContext frees it in its
/// deinit, after the context).
static inline void ws_ssl_ctx_set_server_alpn(SSL_CTX *ctx, unsigned char *ours) {
    SSL_CTX_set_alpn_select_cb(ctx, ws_alpn_select, ours);
}

/// Subject alternative names as "DNS:name" / "IP:addr" strings, joined by '\n' into `buffer`.
static inline int ws_x509_subject_alt_names(X509 *cert, char *buffer, size_t size) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    size_t used = 0;
    buffer[0] = 0;
    if (!names) return 0;
    int count = sk_GENERAL_NAME_num(names);
    for (int i = 0; i < count; i++) {
        GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        char entry[300];
        entry[0] = 0;
        if (name->type == GEN_DNS) {
            snprintf(entry, sizeof entry, "DNS:%.*s", ASN1_STRING_length(name->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(name->d.dNSName));
        } else if (name->type == GEN_IPADD) {
            const unsigned char *ip = ASN1_STRING_get0_data(name->d.iPAddress);
            int length = ASN1_STRING_length(name->d.iPAddress);
            if (length == 4) snprintf(entry, sizeof entry, "IP:%d.%d.%d.%d", ip[0], ip[1], ip[2], ip[3]);
            else snprintf(entry, sizeof entry, "IP:<%d bytes>", length);
        }
        size_t entryLength = strlen(entry);
        if (entryLength && used + entryLength + 2 < size) {
            if (used) buffer[used++] = '\n';
            memcpy(buffer + used, entry, entryLength + 1);
            used += entryLength;
        }
    }
    GENERAL_NAMES_free(names);
    return count;
}

#endif
