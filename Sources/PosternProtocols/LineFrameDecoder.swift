import NIOCore

/// Splits a byte stream into LF-terminated lines (CR before LF is dropped). A line longer than
/// `maxLength` bytes, LF included, is an error: the connection is closed rather than buffered without end.
/// The auth handler calls `next` on the bytes as read (a line left incomplete stays in the buffer).
public struct LineFrameDecoder: Sendable {
    public struct LineTooLong: Error, Equatable {
        public let limit: Int
    }

    public let maxLength: Int
    private var scanned = 0

    public init(maxLength: Int) {
        self.maxLength = maxLength
    }

    /// The framing itself, free of channel state so tests can drive it byte by byte.
    public mutating func next(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        let scanned = self.scanned
        let found = buffer.withUnsafeReadableBytes { bytes -> (lf: Int?, count: Int) in
            (bytes[scanned...].firstIndex(of: 0x0A), bytes.count)
        }
        guard let length = found.lf else {
            self.scanned = found.count
            guard found.count < maxLength else { throw LineTooLong(limit: maxLength) }
            return nil
        }
        guard length + 1 <= maxLength else { throw LineTooLong(limit: maxLength) }
        self.scanned = 0
        let line = buffer.readSlice(length: length > 0 && buffer.getInteger(at: buffer.readerIndex + length - 1, as: UInt8.self) == 0x0D
                                    ? length - 1 : length)!
        buffer.moveReaderIndex(to: buffer.readerIndex + (length - line.readableBytes) + 1)
        return line
    }
}
