using System.Diagnostics;

namespace Wand.Transport;

/// <summary>
/// A byte stream carried by a child process (<c>podman exec -i ... relay.py</c>): reads come from its
/// stdout, writes go to its stdin. Disposing ends the process.
/// </summary>
public sealed class ProcessStream : Stream
{
    private readonly Process _process;
    private readonly Stream _in;
    private readonly Stream _out;

    private ProcessStream(Process process)
    {
        _process = process;
        _in = process.StandardOutput.BaseStream;
        _out = process.StandardInput.BaseStream;
        process.ErrorDataReceived += (_, _) => { }; // drained so the child never blocks on stderr
        process.BeginErrorReadLine();
    }

    public static ProcessStream Start(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return new ProcessStream(Process.Start(psi) ?? throw new ProcessRunner.NotInstalledException(program));
    }

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
        if (disposing)
        {
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            _process.Dispose();
        }
        base.Dispose(disposing);
    }
}
