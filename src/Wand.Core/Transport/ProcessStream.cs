namespace Wand.Transport;

/// <summary>
/// A byte stream carried by a child process (<c>podman exec -i ... relay.py</c>): reads come from its
/// stdout, writes go to its stdin. Disposing ends the process.
/// </summary>
public sealed class ProcessStream : Stream
{
    private readonly ChildProcess _process;
    private readonly Stream _in;
    private readonly Stream _out;

    private ProcessStream(ChildProcess process)
    {
        _process = process;
        _in = process.StandardOutput.BaseStream;
        _out = process.StandardInput.BaseStream;
    }

    public static ProcessStream Start(string program, IEnumerable<string> args) =>
        new(ProcessRunner.Start(program, args, new ChildProcessOptions { OnErrorLine = ChildProcessOptions.Drain }));

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _in.ReadAsync(buffer, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _out.WriteAsync(buffer, cancellationToken);
    public override void Flush() => _out.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _out.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _process.Dispose(); // kills it when it still runs
        base.Dispose(disposing);
    }
}
