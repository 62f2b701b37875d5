import Foundation
import WireHTTP

/// curl's `-w` format: `%{name}` variables and `\n`-style escapes, written after the transfer.
struct WriteOut {
    var status = 0
    var sizeDownload = 0
    var url = ""
    var redirects = 0
    var contentType = ""
    var elapsed: Duration = .zero

    func render(_ format: String) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let values = [
            "http_code": String(format: "%03d", status), "response_code": "\(status)",
            "size_download": "\(sizeDownload)", "url_effective": url, "num_redirects": "\(redirects)",
            "content_type": contentType, "time_total": String(format: "%.6f", seconds),
        ]
        var output = ""
        var rest = Substring(format)
        while let first = rest.first {
            if rest.hasPrefix("%{"), let close = rest.firstIndex(of: "}") {
                let name = String(rest[rest.index(rest.startIndex, offsetBy: 2)..<close])
                output += values[name] ?? ""
                rest = rest[rest.index(after: close)...]
            } else if first == "\\", rest.count > 1 {
                let escaped = rest[rest.index(after: rest.startIndex)]
                output += ["n": "\n", "t": "\t", "r": "\r", "\\": "\\"][escaped] ?? "\\\(escaped)"
                rest = rest.dropFirst(2)
            } else {
                output.append(first)
                rest = rest.dropFirst()
            }
        }
        return output
    }
}
