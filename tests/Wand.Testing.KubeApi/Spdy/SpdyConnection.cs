using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Wand.Testing.KubeApi.Spdy;

/// <summary>
/// The server side of a SPDY/3.1 connection as kubectl's client (moby/spdystream, through
/// k8s.io/apimachinery httpstream/spdy) uses it: the client opens every stream (SYN_STREAM) and waits for
/// its SYN_REPLY; data flows in DATA frames, FLAG_FIN half-closes, RST_STREAM aborts, PING is echoed,
/// GOAWAY ends. spdystream does no flow control, so WINDOW_UPDATE and SETTINGS are ignored and never sent.
/// </summary>
internal sealed class SpdyConnection(Stream io, Func<SpdyStream, Task> onStream)
{
    private const int MaxData = 32 * 1024;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly ConcurrentDictionary<uint, SpdyStream> _streams = new();
    private readonly SpdyHeaderCodec _headers = new();
    private readonly List<Task> _handlers = [];

    /// <summary>Reads frames until the client goes away or <paramref name="cancellationToken"/> ends the connection.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var head = new byte[8];
        try
        {
            while (true)
            {
                await io.ReadExactlyAsync(head, cancellationToken);
                var length = (head[5] << 16) | (head[6] << 8) | head[7];
                var flags = head[4];
                var payload = new byte[length];
                await io.ReadExactlyAsync(payload, cancellationToken);
                if ((head[0] & 0x80) == 0)
                {
                    var id = BinaryPrimitives.ReadUInt32BigEndian(head) & 0x7fffffff;
                    if (_streams.TryGetValue(id, out var s)) await s.DeliverAsync(payload, (flags & 1) != 0);
                    continue;
                }
                var type = BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(2));
                switch (type)
                {
                    case 1: // SYN_STREAM: stream id, associated id, priority, slot, header block
                    {
                        var id = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffff;
                        var stream = new SpdyStream(this, id, _headers.Read(payload.AsSpan(10)));
                        _streams[id] = stream;
                        if ((flags & 1) != 0) await stream.DeliverAsync(default, fin: true);
                        await SendReplyAsync(id);
                        lock (_handlers) _handlers.Add(Task.Run(() => onStream(stream), CancellationToken.None));
                        break;
                    }
                    case 3: // RST_STREAM
                        if (_streams.TryRemove(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffff, out var reset)) reset.Abort();
                        break;
                    case 6: // PING: echoed as is
                        await SendControlAsync(6, 0, payload);
                        break;
                    case 7: // GOAWAY
                        return;
                    default: // SETTINGS, HEADERS, WINDOW_UPDATE: nothing to do
                        break;
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
            // the client went away, or the pod did
        }
        finally
        {
            foreach (var s in _streams.Values) s.Abort();
            Task[] handlers;
            lock (_handlers) handlers = [.. _handlers];
            await Task.WhenAll(handlers).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Tells the client the connection ends (GOAWAY, last stream id, status OK).</summary>
    public async Task GoAwayAsync()
    {
        var last = _streams.Keys.DefaultIfEmpty(0u).Max();
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(payload, last);
        try
        {
            await SendControlAsync(7, 0, payload);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException)
        {
            // already gone
        }
    }

    internal async Task SendDataAsync(uint id, ReadOnlyMemory<byte> data, bool fin)
    {
        do
        {
            var chunk = data[..Math.Min(data.Length, MaxData)];
            data = data[chunk.Length..];
            var frame = new byte[8 + chunk.Length];
            BinaryPrimitives.WriteUInt32BigEndian(frame, id & 0x7fffffff);
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)chunk.Length);
            frame[4] = (byte)(fin && data.IsEmpty ? 1 : 0);
            chunk.Span.CopyTo(frame.AsSpan(8));
            await WriteFrameAsync(frame);
        }
        while (!data.IsEmpty);
    }

    private async Task SendReplyAsync(uint id)
    {
        await _write.WaitAsync();
        try
        {
            // The header block's zlib stream is ordered: build it under the write lock.
            var block = _headers.EmptyBlock();
            var payload = new byte[4 + block.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, id);
            block.CopyTo(payload, 4);
            await io.WriteAsync(ControlFrame(2, 0, payload));
            await io.FlushAsync();
        }
        finally
        {
            _write.Release();
        }
    }

    private Task SendControlAsync(ushort type, byte flags, byte[] payload) => WriteFrameAsync(ControlFrame(type, flags, payload));

    private static byte[] ControlFrame(ushort type, byte flags, byte[] payload)
    {
        var frame = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, 0x8003); // control bit, version 3
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), type);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)payload.Length);
        frame[4] = flags;
        payload.CopyTo(frame, 8);
        return frame;
    }

    private async Task WriteFrameAsync(byte[] frame)
    {
        await _write.WaitAsync();
        try
        {
            await io.WriteAsync(frame);
            await io.FlushAsync();
        }
        finally
        {
            _write.Release();
        }
    }
}
