import COpenSSL

/// An OpenSSL `SSL_CTX` built from a ``TLSConfiguration``: load certificates and trust roots once,
/// then make any number of streams from it (from any thread).
public final class TLSContext: @unchecked Sendable {
    // @unchecked Sendable: the SSL_CTX is configured once in init and never changed after;
    // OpenSSL allows SSL_new on a shared, unchanging context from several threads.
    public let configuration: TLSConfiguration
    let context: OpaquePointer
    /// The server's ALPN protocols as its selection callback reads them (owned here: OpenSSL
    /// keeps only the pointer).
    private var serverALPN: UnsafeMutablePointer<UInt8>?

    /// - Throws: a `.configuration` ``TLSError`` if a file cannot be loaded or the key does not
    ///   match the certificate.
    public init(_ configuration: TLSConfiguration) throws {
        self.configuration = configuration
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let context = SSL_CTX_new(method) else { throw TLSContext.failure("SSL_CTX_new") }
        self.context = context
        ws_ssl_ctx_set_nonblocking_modes(context)
        ws_ssl_ctx_set_options(context, configuration.ignoreUnexpectedEOF ? 1 : 0)
        let version = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard ws_ssl_ctx_set_min_version(context, version) == 1 else { throw TLSContext.failure("minimum version") }
        if let list = configuration.cipherList, SSL_CTX_set_cipher_list(context, list) != 1 {
            throw TLSContext.failure("cipher list \(list)")
        }
        if let suites = configuration.cipherSuites, SSL_CTX_set_ciphersuites(context, suites) != 1 {
            throw TLSContext.failure("cipher suites \(suites)")
        }
        if configuration.role == .server {
            // No TLS 1.3 session tickets: Wirestream clients do not resume sessions, and a ticket
            // the client never reads turns its close into a TCP reset that can destroy the last
            // bytes it sent before the server read them.
            SSL_CTX_set_num_tickets(context, 0)
        }
        try loadIdentity()
        try loadTrustRoots()
        var mode = SSL_VERIFY_NONE
        if configuration.verifyPeer {
            mode = SSL_VERIFY_PEER | (configuration.role == .server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0)
        }
        SSL_CTX_set_verify(context, mode, nil)
        if !configuration.alpnProtocols.isEmpty {
            var wire: [UInt8] = []
            for name in configuration.alpnProtocols {
                let bytes = Array(name.utf8)
                guard !bytes.isEmpty && bytes.count < 256 else {
                    throw TLSError(.configuration, reason: "bad ALPN protocol name \(name.debugDescription)")
                }
                wire.append(UInt8(bytes.count))
                wire += bytes
            }
            if configuration.role == .server {
                let ours = UnsafeMutablePointer<UInt8>.allocate(capacity: wire.count + 2)
                ours[0] = UInt8(truncatingIfNeeded: wire.count)
                ours[1] = UInt8(truncatingIfNeeded: wire.count >> 8)
                (ours + 2).initialize(from: wire, count: wire.count)
                serverALPN = ours
                ws_ssl_ctx_set_server_alpn(context, ours)
            } else if SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) != 0 {
                throw TLSContext.failure("ALPN")
            }
        }
    }

    deinit {
        SSL_CTX_free(context)
        serverALPN?.deallocate()
    }

    private func loadIdentity() throws {
        switch configuration.certificateChain {
        case .file(let path)?:
            guard SSL_CTX_use_certificate_chain_file(context, path) == 1 else {
                throw TLSContext.failure("certificate chain \(path)")
            }
        case .bytes(let pem)?:
            let certificates = try TLSContext.readCertificates(pem)
            guard let leaf = certificates.first, SSL_CTX_use_certificate(context, leaf) == 1 else {
                throw TLSContext.failure("certificate chain")
            }
            X509_free(leaf)
            for extra in certificates.dropFirst() {
                // The context takes ownership of extra chain certificates.
                guard ws_ssl_ctx_add_extra_chain_cert(context, extra) == 1 else { throw TLSContext.failure("chain") }
            }
        case nil:
            if configuration.role == .server {
                throw TLSError(.configuration, reason: "a server needs a certificate chain and a private key")
            }
        }
        switch configuration.privateKey {
        case .file(let path)?:
            guard SSL_CTX_use_PrivateKey_file(context, path, SSL_FILETYPE_PEM) == 1 else {
                throw TLSContext.failure("private key \(path)")
            }
        case .bytes(let pem)?:
            let key = pem.withUnsafeBytes { raw -> OpaquePointer? in
                let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
                defer { BIO_free(bio) }
                return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
            }
            guard let key, SSL_CTX_use_PrivateKey(context, key) == 1 else { throw TLSContext.failure("private key") }
            EVP_PKEY_free(key)
        case nil:
            return
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSContext.failure("the private key does not match the certificate")
        }
    }

    private func loadTrustRoots() throws {
        switch configuration.trustRoots {
        case .system:
            // Only a context that verifies its peer reads them: the system store is half a MiB in
            // ~9,000 allocations, and a server that asks for no client certificate never looks.
            guard configuration.verifyPeer else { return }
            guard SSL_CTX_set_default_verify_paths(context) == 1 else { throw TLSContext.failure("system trust store") }
        case .file(let path):
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                throw TLSContext.failure("trust roots \(path)")
            }
        case .directory(let path):
            guard SSL_CTX_load_verify_locations(context, nil, path) == 1 else {
                throw TLSContext.failure("trust roots \(path)")
            }
        case .pem(let pem):
            let store = SSL_CTX_get_cert_store(context)
            for certificate in try TLSContext.readCertificates(pem) {
                defer { X509_free(certificate) }
                guard X509_STORE_add_cert(store, certificate) == 1 else { throw TLSContext.failure("trust root") }
            }
        case .none:
            return
        }
    }

    /// Every certificate in a PEM blob; the caller frees them.
    private static func readCertificates(_ pem: [UInt8]) throws -> [OpaquePointer] {
        var certificates: [OpaquePointer] = []
        pem.withUnsafeBytes { raw in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(bio) }
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
        }
        ERR_clear_error()  // the loop ends on a "no start line" error
        guard !certificates.isEmpty else { throw TLSError(.configuration, reason: "no certificate in PEM data") }
        return certificates
    }

    static func failure(_ what: String) -> TLSError {
        var text = [CChar](repeating: 0, count: 256)
        ws_ssl_error_text(&text, text.count)
        let detail = String(nulTerminated: text)
        return TLSError(.configuration, reason: detail.isEmpty ? what : "\(what): \(detail)")
    }
}
