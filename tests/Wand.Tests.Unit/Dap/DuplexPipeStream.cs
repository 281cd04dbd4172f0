using System.IO.Pipelines;

namespace Wand.Tests.Unit.Dap;

/// <summary>
/// One end of an in-memory, socket-like connection: reads what the other end writes. Disposing it ends
/// the other end's reads (end of stream), as closing a socket does.
/// </summary>
internal sealed class DuplexPipeStream(PipeReader reader, PipeWriter writer) : Stream
{
    private readonly Stream _in = reader.AsStream();
    private readonly Stream _out = writer.AsStream();

    public static (DuplexPipeStream Client, DuplexPipeStream Adapter) CreatePair()
    {
        var toAdapter = new Pipe();
        var toClient = new Pipe();
        return (new DuplexPipeStream(toClient.Reader, toAdapter.Writer), new DuplexPipeStream(toAdapter.Reader, toClient.Writer));
    }

    /// <summary>Ends the other side's reads without closing this side's.</summary>
    public Task CloseWriteAsync() => writer.CompleteAsync().AsTask();

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _in.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _in.ReadAsync(buffer, offset, count, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _out.WriteAsync(buffer, cancellationToken);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _out.WriteAsync(buffer, offset, count, cancellationToken);
    public override void Flush() => _out.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _out.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _out.Dispose();
            _in.Dispose();
        }
        base.Dispose(disposing);
    }
}
