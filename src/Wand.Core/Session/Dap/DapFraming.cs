using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wand.Session.Dap;

/// <summary>
/// The DAP base protocol's framing: <c>Content-Length: N\r\n\r\n</c> then N bytes of UTF-8 JSON
/// (https://microsoft.github.io/debug-adapter-protocol/overview#base-protocol). Stateless and unaware of
/// sessions, so a relay can use it on both of its connections.
/// </summary>
/// <remarks>
/// Not thread-safe: at most one <see cref="ReadAsync(Stream, CancellationToken)"/> and at most one
/// <see cref="WriteAsync"/> may be in progress on a stream at a time (one reader and one writer may run
/// together on a duplex stream such as a socket); callers that write from several tasks serialise their
/// writes themselves.
/// </remarks>
public static class DapFraming
{
    /// <summary>The largest body <see cref="ReadAsync(Stream, CancellationToken)"/> accepts unless told otherwise.</summary>
    public const int DefaultMaxBodyBytes = 16 * 1024 * 1024;

    /// <summary>The longest header line accepted, not counting its line break.</summary>
    public const int MaxHeaderLineBytes = 8 * 1024;

    /// <summary>The longest header section accepted (so endless short headers cannot stall a reader).</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    // Header values are ASCII; Latin-1 maps every byte to one char, so nothing can fail to decode.
    private static readonly Encoding HeaderEncoding = Encoding.Latin1;

    // DAP is not embedded in HTML, so only what JSON itself requires is escaped and non-ASCII text
    // travels as UTF-8, as the base protocol specifies.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // A body with the same key twice is ambiguous (which one did the peer mean?): refuse it.
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    /// <inheritdoc cref="ReadAsync(Stream, int, CancellationToken)"/>
    public static Task<JsonObject?> ReadAsync(Stream stream, CancellationToken cancellationToken = default) =>
        ReadAsync(stream, DefaultMaxBodyBytes, cancellationToken);

    /// <summary>
    /// Reads one message. Returns <c>null</c> when the stream ends cleanly before a message starts; throws
    /// <see cref="DapProtocolException"/> for anything malformed. Header names are case-insensitive and
    /// headers other than <c>Content-Length</c> are ignored.
    /// </summary>
    /// <remarks>
    /// The header is read one byte at a time so that nothing past the message is consumed and the stream
    /// stays usable by anyone else; wrap unbuffered streams (sockets) in a <see cref="BufferedStream"/>.
    /// A body over <paramref name="maxBodyBytes"/> is refused from its header, before anything is allocated.
    /// </remarks>
    public static async Task<JsonObject?> ReadAsync(Stream stream, int maxBodyBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBodyBytes);
        if (await ReadHeaderAsync(stream, maxBodyBytes, cancellationToken) is not { } length) return null;

        var body = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var read = 0;
            while (read < length)
            {
                var n = await stream.ReadAsync(body.AsMemory(read, length - read), cancellationToken);
                if (n == 0) throw new DapProtocolException($"the connection closed inside a message body ({read} of {length} bytes read)");
                read += n;
            }
            return Parse(body.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>
    /// Writes one message as UTF-8 JSON behind its <c>Content-Length</c> header, in a single write followed
    /// by a flush, so a message is never interleaved with another writer's bytes at the stream level.
    /// </summary>
    public static async Task WriteAsync(Stream stream, JsonObject message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await stream.WriteAsync(Encode(message), cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <summary>The exact bytes <see cref="WriteAsync"/> puts on the wire for <paramref name="message"/>.</summary>
    internal static byte[] Encode(JsonObject message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json, WriterOptions)) message.WriteTo(writer);
        var header = HeaderEncoding.GetBytes(string.Create(CultureInfo.InvariantCulture, $"Content-Length: {json.WrittenCount}\r\n\r\n"));
        var frame = new byte[header.Length + json.WrittenCount];
        header.CopyTo(frame, 0);
        json.WrittenSpan.CopyTo(frame.AsSpan(header.Length));
        return frame;
    }

    /// <summary>Reads header lines up to the empty line; returns the body length, or null on a clean end of stream.</summary>
    private static async Task<int?> ReadHeaderAsync(Stream stream, int maxBodyBytes, CancellationToken cancellationToken)
    {
        // Room for the longest accepted line plus its "\r\n".
        var line = ArrayPool<byte>.Shared.Rent(MaxHeaderLineBytes + 2);
        try
        {
            int? contentLength = null;
            var total = 0;
            var lineLength = 0;
            while (true)
            {
                if (lineLength > MaxHeaderLineBytes + 1) // + 1: the '\r' of a line of maximal length
                    throw new DapProtocolException($"a header line is longer than {MaxHeaderLineBytes} bytes");
                var n = await stream.ReadAsync(line.AsMemory(lineLength, 1), cancellationToken);
                if (n == 0)
                {
                    if (total == 0) return null;
                    throw new DapProtocolException("the connection closed inside a message header");
                }
                if (++total > MaxHeaderBytes)
                    throw new DapProtocolException($"the message header is longer than {MaxHeaderBytes} bytes");
                if (line[lineLength] != (byte)'\n')
                {
                    lineLength++;
                    continue;
                }

                // The base protocol ends lines with CRLF; a bare LF is accepted too.
                var length = lineLength > 0 && line[lineLength - 1] == (byte)'\r' ? lineLength - 1 : lineLength;
                lineLength = 0;
                if (length > MaxHeaderLineBytes)
                    throw new DapProtocolException($"a header line is longer than {MaxHeaderLineBytes} bytes");
                if (length == 0)
                    return contentLength ?? throw new DapProtocolException("the message header has no Content-Length");
                contentLength = ParseHeaderLine(line.AsSpan(0, length), contentLength, maxBodyBytes);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(line);
        }
    }

    /// <summary>Applies one <c>name: value</c> line; returns the Content-Length known so far.</summary>
    private static int? ParseHeaderLine(ReadOnlySpan<byte> line, int? contentLength, int maxBodyBytes)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0) throw new DapProtocolException($"malformed header line '{Printable(line)}'");
        var name = HeaderEncoding.GetString(line[..colon]).Trim();
        if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) return contentLength;

        var value = HeaderEncoding.GetString(line[(colon + 1)..]).Trim(' ', '\t');
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            if (value.Length > 0 && value.All(char.IsAsciiDigit))
                throw new DapProtocolException($"message body of {Printable(value)} bytes exceeds the limit of {maxBodyBytes} bytes");
            throw new DapProtocolException($"invalid Content-Length '{Printable(value)}'");
        }
        if (length > maxBodyBytes)
            throw new DapProtocolException($"message body of {length} bytes exceeds the limit of {maxBodyBytes} bytes");
        if (contentLength is { } previous && previous != length)
            throw new DapProtocolException($"conflicting Content-Length headers ({previous} and {length})");
        return (int)length;
    }

    private static JsonObject Parse(ReadOnlySpan<byte> body)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body, documentOptions: DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new DapProtocolException($"the message body is not valid JSON: {ex.Message}", ex);
        }
        return node as JsonObject ?? throw new DapProtocolException(
            $"the message body is a JSON {(node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant())}, not an object");
    }

    /// <summary>A short, single-line rendering of peer-supplied text for an error message.</summary>
    private static string Printable(ReadOnlySpan<byte> bytes) => Printable(HeaderEncoding.GetString(bytes[..Math.Min(bytes.Length, 64)]));

    private static string Printable(string text)
    {
        var chars = text.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray();
        return new string(chars) + (text.Length > 40 ? "..." : "");
    }
}
