using System.Text;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Xunit;

namespace Wand.Tests.Unit.Dap;

public class DapFramingTests
{
    private static MemoryStream Bytes(string text) => new(Encoding.UTF8.GetBytes(text));

    private static string Frame(string json) => $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    [Fact(Timeout = 10000)]
    public async Task RoundTripsSeveralMessagesThenEndsCleanly()
    {
        var stream = new MemoryStream();
        var messages = new[]
        {
            new JsonObject { ["seq"] = 1, ["type"] = "request", ["command"] = "initialize", ["arguments"] = new JsonObject { ["clientID"] = "wand" } },
            new JsonObject { ["seq"] = 2, ["type"] = "event", ["event"] = "output", ["body"] = new JsonObject { ["output"] = "héllo ✓ \"quoted\"\n\u0001" } },
            new JsonObject(),
        };
        foreach (var m in messages) await DapFraming.WriteAsync(stream, m);

        stream.Position = 0;
        foreach (var m in messages)
        {
            var read = await DapFraming.ReadAsync(stream);
            Assert.NotNull(read);
            Assert.True(JsonNode.DeepEquals(m, read), read.ToJsonString());
        }
        Assert.Null(await DapFraming.ReadAsync(stream));
        Assert.Null(await DapFraming.ReadAsync(stream)); // and again: still a clean end
    }

    [Fact(Timeout = 10000)]
    public async Task WritesUtf8WithTheExactByteCountInOneWrite()
    {
        var stream = new CountingStream();
        await DapFraming.WriteAsync(stream, new JsonObject { ["text"] = "héllo ✓ 🐍" });

        Assert.Equal(1, stream.Writes);
        var bytes = stream.ToArray();
        var text = Encoding.UTF8.GetString(bytes);
        var separator = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.StartsWith("Content-Length: ", text);
        var declared = int.Parse(text["Content-Length: ".Length..separator]);
        var headerBytes = Encoding.ASCII.GetByteCount(text[..(separator + 4)]);
        Assert.Equal(bytes.Length - headerBytes, declared);
        Assert.Contains("héllo ✓", text); // UTF-8 on the wire, not \u escapes (astral characters are escaped, which is valid JSON)
        var back = await DapFraming.ReadAsync(new MemoryStream(bytes));
        Assert.Equal("héllo ✓ 🐍", (string?)back!["text"]);
    }

    [Fact(Timeout = 10000)]
    public async Task ReadsOneMessageAndNothingMore()
    {
        var first = Frame("""{"seq":1}""");
        var stream = Bytes(first + Frame("""{"seq":2}"""));
        await DapFraming.ReadAsync(stream);
        Assert.Equal(Encoding.UTF8.GetByteCount(first), stream.Position);
    }

    [Theory(Timeout = 10000)]
    [InlineData("content-length: 2\r\n\r\n{}")]
    [InlineData("CONTENT-LENGTH:2\r\n\r\n{}")]
    [InlineData("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}")]
    [InlineData("Content-Length: 2\r\nX-Other: whatever: with colons\r\n\r\n{}")]
    [InlineData("Content-Length:   2 \t\r\n\r\n{}")]
    [InlineData("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}")]
    [InlineData("Content-Length: 2\n\n{}")] // bare LF, as some peers send
    public async Task AcceptsHeaderVariants(string input)
    {
        var message = await DapFraming.ReadAsync(Bytes(input));
        Assert.NotNull(message);
        Assert.Empty(message);
    }

    [Theory(Timeout = 10000)]
    [InlineData("\r\n{}", "no Content-Length")]
    [InlineData("Content-Type: text/json\r\n\r\n{}", "no Content-Length")]
    [InlineData("Content-Length: abc\r\n\r\n{}", "invalid Content-Length")]
    [InlineData("Content-Length: -1\r\n\r\n{}", "invalid Content-Length")]
    [InlineData("Content-Length: +2\r\n\r\n{}", "invalid Content-Length")]
    [InlineData("Content-Length: 1.5\r\n\r\n{}", "invalid Content-Length")]
    [InlineData("Content-Length: 0x10\r\n\r\n{}", "invalid Content-Length")]
    [InlineData("Content-Length:\r\n\r\n{}", "invalid Content-Length")]
    [InlineData("Content-Length 2\r\n\r\n{}", "malformed header line")]
    [InlineData(": 2\r\n\r\n{}", "malformed header line")]
    [InlineData("Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "conflicting Content-Length")]
    [InlineData("Content-Length: 99999999999999999999999\r\n\r\n{}", "exceeds the limit")]
    [InlineData("Content-Length: 10\r\n\r\n{}", "inside a message body")]
    [InlineData("Content-Length: 2\r\n", "inside a message header")]
    [InlineData("Content-Length: 2\r\n\r", "inside a message header")]
    [InlineData("Content-Len", "inside a message header")]
    [InlineData("Content-Length: 0\r\n\r\n", "not valid JSON")]
    [InlineData("Content-Length: 2\r\n\r\n{x", "not valid JSON")]
    [InlineData("Content-Length: 5\r\n\r\n{} {}", "not valid JSON")]
    [InlineData("Content-Length: 13\r\n\r\n{\"a\":1,\"a\":2}", "not valid JSON")]
    [InlineData("Content-Length: 2\r\n\r\n[]", "a JSON array, not an object")]
    [InlineData("Content-Length: 4\r\n\r\nnull", "a JSON null, not an object")]
    [InlineData("Content-Length: 1\r\n\r\n5", "a JSON number, not an object")]
    [InlineData("Content-Length: 4\r\n\r\n\"hi\"", "a JSON string, not an object")]
    public async Task RejectsMalformedInput(string input, string expected)
    {
        var ex = await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(Bytes(input)));
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact(Timeout = 10000)]
    public async Task EveryTruncationOfAMessageIsAProtocolErrorExceptNone()
    {
        var full = Encoding.UTF8.GetBytes(Frame("""{"seq":1,"type":"event","event":"output"}"""));
        Assert.Null(await DapFraming.ReadAsync(new MemoryStream(full[..0])));
        for (var length = 1; length < full.Length; length++)
            await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(new MemoryStream(full[..length])));
        Assert.NotNull(await DapFraming.ReadAsync(new MemoryStream(full)));
    }

    [Fact(Timeout = 10000)]
    public async Task AHugeContentLengthIsRefusedFromTheHeaderWithoutAllocatingIt()
    {
        // A memory stream completes every read synchronously, so the whole read runs on this thread
        // and this thread's allocation counter sees everything it allocated.
        var stream = Bytes("Content-Length: 2147483647\r\n\r\n{}");
        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = DapFraming.ReadAsync(stream);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(read.IsCompleted);
        var ex = await Assert.ThrowsAsync<DapProtocolException>(() => read);
        Assert.Contains("2147483647 bytes exceeds the limit of 16777216 bytes", ex.Message);
        Assert.True(allocated < 1024 * 1024, $"{allocated} bytes allocated");
    }

    [Fact(Timeout = 10000)]
    public async Task AHugeContentLengthIsRefusedBeforeTheHeaderEnds()
    {
        // Nothing follows the line on this connection: a reader that waited for more would hang.
        var (reader, writer) = DuplexPipeStream.CreatePair();
        await writer.WriteAsync("Content-Length: 16777217\r\n"u8.ToArray());
        var ex = await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(reader));
        Assert.Contains("16777217 bytes exceeds the limit", ex.Message);
    }

    [Fact(Timeout = 10000)]
    public async Task TheBodyLimitCanBeChosen()
    {
        var body = "{\"s\":\"" + new string('x', 1024 - 8) + "\"}";
        Assert.Equal(1024, body.Length);
        Assert.NotNull(await DapFraming.ReadAsync(Bytes(Frame(body)), maxBodyBytes: 1024));
        var ex = await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(Bytes(Frame(body)), maxBodyBytes: 1023));
        Assert.Contains("1024 bytes exceeds the limit of 1023 bytes", ex.Message);
    }

    [Fact(Timeout = 10000)]
    public async Task HeaderLinesUpTo8KiBAreAcceptedAndLongerOnesRefused()
    {
        var longest = "X-Padding: " + new string('a', DapFraming.MaxHeaderLineBytes - "X-Padding: ".Length);
        Assert.NotNull(await DapFraming.ReadAsync(Bytes($"{longest}\r\nContent-Length: 2\r\n\r\n{{}}")));
        Assert.NotNull(await DapFraming.ReadAsync(Bytes($"{longest}\nContent-Length: 2\n\n{{}}")));

        var ex = await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(Bytes($"{longest}a\r\nContent-Length: 2\r\n\r\n{{}}")));
        Assert.Contains("longer than 8192 bytes", ex.Message);
        await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(Bytes($"{longest}a\nContent-Length: 2\n\n{{}}")));
    }

    [Fact(Timeout = 10000)]
    public async Task AnEndlessHeaderLineIsRefusedWithoutWaitingForItsEnd()
    {
        var (reader, writer) = DuplexPipeStream.CreatePair();
        await writer.WriteAsync(Encoding.ASCII.GetBytes(new string('a', DapFraming.MaxHeaderLineBytes + 10)));
        await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(reader));
    }

    [Fact(Timeout = 10000)]
    public async Task EndlessShortHeadersAreRefused()
    {
        var headers = string.Concat(Enumerable.Repeat("X-A: b\r\n", DapFraming.MaxHeaderBytes / 8 + 1));
        var ex = await Assert.ThrowsAsync<DapProtocolException>(() => DapFraming.ReadAsync(Bytes(headers + "Content-Length: 2\r\n\r\n{}")));
        Assert.Contains("header is longer than", ex.Message);
    }

    [Fact(Timeout = 10000)]
    public async Task ReadingCanBeCancelled()
    {
        var (reader, _) = DuplexPipeStream.CreatePair();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DapFraming.ReadAsync(reader, cts.Token));
    }

    /// <summary>Collects what is written and counts the write calls.</summary>
    private sealed class CountingStream : Stream
    {
        private readonly MemoryStream _inner = new();

        public int Writes { get; private set; }
        public byte[] ToArray() => _inner.ToArray();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _inner.Length;
        public override long Position { get => _inner.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes++;
            _inner.Write(buffer, offset, count);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Writes++;
            return _inner.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes++;
            return _inner.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
