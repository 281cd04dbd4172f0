namespace Wand.Stacks.Exec;

/// <summary>A file as the target sees it, read through <see cref="ExecMemoryServer"/>: seekable and read-only, for the ELF reader.</summary>
public sealed class ExecFileStream : Stream
{
    private readonly ExecMemoryServer _server;
    private readonly string _path;

    private ExecFileStream(ExecMemoryServer server, string path, long length)
    {
        _server = server;
        _path = path;
        Length = length;
    }

    /// <summary>The file, or null when the target's root has no such file.</summary>
    public static ExecFileStream? Open(ExecMemoryServer server, string path) =>
        server.FileSize(path) is { } length ? new ExecFileStream(server, path, length) : null;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length { get; }
    public override long Position { get; set; }

    public override int Read(byte[] buffer, int offset, int count)
    {
        count = (int)Math.Min(count, Math.Max(0, Length - Position));
        if (count == 0) return 0;
        var bytes = _server.File(_path, Position, count) ?? throw new IOException($"{_path} could not be read in the target");
        bytes.CopyTo(buffer, offset);
        Position += bytes.Length;
        return bytes.Length;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => Position + offset,
        _ => Length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
