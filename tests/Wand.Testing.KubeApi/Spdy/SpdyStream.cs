using System.IO.Pipelines;

namespace Wand.Testing.KubeApi.Spdy;

/// <summary>One SPDY stream the client opened: its headers, what it sends (<see cref="Input"/>, ends at its FIN or RST) and a way to answer.</summary>
internal sealed class SpdyStream(SpdyConnection connection, uint id, IReadOnlyDictionary<string, string> headers)
{
    private readonly Pipe _inbound = new();
    private readonly CancellationTokenSource _reset = new();
    private int _finished;

    public uint Id => id;

    public IReadOnlyDictionary<string, string> Headers => headers;

    /// <summary>The client's data; ends when it half-closes the stream (FIN) or resets it.</summary>
    public Stream Input => _inbound.Reader.AsStream();

    /// <summary>Cancelled when the client resets the stream or the connection ends.</summary>
    public CancellationToken Aborted => _reset.Token;

    public Task WriteAsync(ReadOnlyMemory<byte> data) => connection.SendDataAsync(id, data, fin: false);

    /// <summary>Half-closes our side (an empty DATA frame with FLAG_FIN), once.</summary>
    public Task CloseWriteAsync() => Interlocked.Exchange(ref _finished, 1) == 0 ? connection.SendDataAsync(id, default, fin: true) : Task.CompletedTask;

    internal async Task DeliverAsync(ReadOnlyMemory<byte> data, bool fin)
    {
        if (data.Length > 0) await _inbound.Writer.WriteAsync(data);
        if (fin) await _inbound.Writer.CompleteAsync();
    }

    internal void Abort()
    {
        _inbound.Writer.Complete();
        _reset.Cancel();
    }
}
