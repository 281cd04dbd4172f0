namespace Wand.Transport.Local;

/// <summary>Thrown when an address in the target cannot be read or written (unmapped, short transfer).</summary>
public sealed class MemoryAccessException(ulong address, int length, string reason)
    : Exception($"cannot access {length} bytes at 0x{address:x} in the target: {reason}")
{
    public ulong Address { get; } = address;
}
