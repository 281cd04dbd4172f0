using System.Buffers.Binary;

namespace Wand.Transport.Local;

/// <summary>Typed little-endian reads and writes on top of <see cref="IProcessMemory"/>.</summary>
public static class ProcessMemoryExtensions
{
    public static ulong ReadU64(this IProcessMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[8];
        memory.Read(address, b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    public static int ReadI32(this IProcessMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[4];
        memory.Read(address, b);
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    public static byte ReadU8(this IProcessMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[1];
        memory.Read(address, b);
        return b[0];
    }

    public static void WriteI32(this IProcessMemory memory, ulong address, int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        memory.Write(address, b);
    }

    public static void WriteU8(this IProcessMemory memory, ulong address, byte value) =>
        memory.Write(address, [value]);
}
