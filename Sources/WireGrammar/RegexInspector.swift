import CPCRE2

/// Compiles a grammar's regex with PCRE2 (as the stream will at run time) to report mistakes at
/// compile time and to number its named groups, so generated code looks groups up by index.
enum RegexInspector {
    struct Failure: Error {
        let offset: Int
        let message: String
    }

    static func groups(of pattern: String) -> Result<[String: Int], Failure> {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let code = Array(pattern.utf8).withUnsafeBufferPointer { bytes in
            ws_pcre2_compile(bytes.baseAddress, bytes.count, 0, &errorCode, &errorOffset)
        }
        guard let code else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = ws_pcre2_message(errorCode, &buffer, buffer.count)
            return .failure(Failure(offset: errorOffset, message: String(decoding: buffer.prefix(Int(max(length, 0))), as: UTF8.self)))
        }
        defer { pcre2_code_free_8(code) }
        var names: [String: Int] = [:]
        for index in 0..<ws_pcre2_name_count(code) {
            var name: UnsafePointer<CChar>?
            let number = ws_pcre2_name_entry(code, index, &name)
            if let name { names[String(cString: name)] = Int(number) }
        }
        return .success(names)
    }
}
