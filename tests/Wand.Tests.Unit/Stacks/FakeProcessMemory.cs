using Wand.Transport.Local;

namespace Wand.Tests.Unit.Stacks;

/// <summary>
/// A process image made of separate mapped regions with unmapped gaps between them: reads inside one
/// region succeed, anything else throws <see cref="MemoryAccessException"/> as process_vm_readv would.
/// Writing fails the test: the stack reader must never write into the target.
/// </summary>
public sealed class FakeProcessMemory : IProcessMemory
{
    private readonly List<(ulong Start, byte[] Bytes)> _regions = [];

    public int Pid => 4242;

    public long BytesRead { get; private set; }

    public IReadOnlyList<(ulong Start, byte[] Bytes)> Regions => _regions;

    public void Map(ulong start, byte[] bytes) => _regions.Add((start, bytes));

    public void Read(ulong address, Span<byte> buffer)
    {
        foreach (var (start, bytes) in _regions)
        {
            if (address < start || address - start > (ulong)bytes.Length) continue;
            var offset = (int)(address - start);
            if ((ulong)buffer.Length > (ulong)(bytes.Length - offset)) break;
            bytes.AsSpan(offset, buffer.Length).CopyTo(buffer);
            BytesRead += buffer.Length;
            return;
        }
        throw new MemoryAccessException(address, buffer.Length, "unmapped in the fake image");
    }

    public void Write(ulong address, ReadOnlySpan<byte> data) =>
        throw new InvalidOperationException($"the stack reader wrote {data.Length} bytes at 0x{address:x}");

    public FakeProcessMemory Clone()
    {
        var copy = new FakeProcessMemory();
        foreach (var (start, bytes) in _regions) copy.Map(start, (byte[])bytes.Clone());
        return copy;
    }

    public void Dispose() { }
}
