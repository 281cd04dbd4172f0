using Wand.Transport.Local;

namespace Wand.Stacks.Exec;

/// <summary>
/// The target's memory read through <see cref="ExecMemoryServer"/>, a 4 KiB page at a time and kept
/// for the one capture (each read is a round trip through the exec): the reader asks for many small
/// fields of the same objects. Read-only.
/// </summary>
public sealed class ExecProcessMemory(ExecMemoryServer server) : IProcessMemory
{
    private const int PageSize = 4096;
    private const int MaxPages = 16384; // 64 MiB: a capture that reads more reads an exact range

    private readonly Dictionary<ulong, byte[]?> _pages = [];

    public int Pid => server.Pid;

    public void Read(ulong address, Span<byte> buffer)
    {
        if (buffer.IsEmpty) return;
        var first = address & ~(ulong)(PageSize - 1);
        var last = (address + (ulong)buffer.Length - 1) & ~(ulong)(PageSize - 1);
        if (last < first || (last - first) / PageSize >= 64) { Exact(address, buffer); return; }
        for (var page = first; page <= last; page += PageSize)
        {
            if (Page(page) is not { } bytes) { Exact(address, buffer); return; }
            var from = Math.Max(address, page);
            var to = Math.Min(address + (ulong)buffer.Length, page + PageSize);
            bytes.AsSpan((int)(from - page), (int)(to - from)).CopyTo(buffer[(int)(from - address)..]);
        }
    }

    public void Write(ulong address, ReadOnlySpan<byte> data) =>
        throw new MemoryAccessException(address, data.Length, "the exec route only reads");

    private byte[]? Page(ulong page)
    {
        if (_pages.TryGetValue(page, out var bytes)) return bytes;
        bytes = server.Memory(page, PageSize);
        if (bytes is { Length: not PageSize }) bytes = null;
        if (_pages.Count < MaxPages) _pages[page] = bytes;
        return bytes;
    }

    private void Exact(ulong address, Span<byte> buffer)
    {
        var bytes = server.Memory(address, buffer.Length);
        if (bytes is null || bytes.Length != buffer.Length)
            throw new MemoryAccessException(address, buffer.Length, "not readable in the target");
        bytes.CopyTo(buffer);
    }

    public void Dispose()
    {
    }
}
