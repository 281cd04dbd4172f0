using System.Buffers.Binary;
using System.Text;
using Wand.Stacks;

namespace Wand.Tests.Unit.Stacks;

/// <summary>
/// What the synthetic runtimes of every CPython version are built from: whole-page mappings in a
/// <see cref="FakeProcessMemory"/>, raw writes, and the objects that all versions lay out alike (type
/// objects, compact ASCII str, bytes, tuple) at the offsets of <see cref="Offsets"/>.
/// </summary>
public abstract class SyntheticImage(StackOffsets offsets)
{
    private ulong _next = 0x10000;

    public FakeProcessMemory Memory { get; } = new();
    public StackOffsets Offsets { get; } = offsets;

    protected ulong StrType { get; private set; }
    protected ulong BytesType { get; private set; }
    protected ulong TupleType { get; private set; }
    private ulong TypeType { get; set; }

    /// <summary>Maps the type objects of str, bytes and tuple (after whatever the runtime maps first).</summary>
    protected void MapBuiltinTypes()
    {
        TypeType = Alloc(416);
        StrType = Type("str", 1UL << 28);
        BytesType = Type("bytes", 1UL << 27);
        TupleType = Type("tuple", 1UL << 26);
    }

    public void U64(ulong address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Span(address, 8), value);

    protected void U32(ulong address, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Span(address, 4), value);

    protected Span<byte> Span(ulong address, int length)
    {
        foreach (var (start, bytes) in Memory.Regions)
            if (address >= start && address + (ulong)length <= start + (ulong)bytes.Length) return bytes.AsSpan((int)(address - start), length);
        throw new InvalidOperationException($"0x{address:x} is not in the image");
    }

    protected byte[] Bytes(ulong region) => Memory.Regions.Single(r => r.Start == region).Bytes;

    /// <summary>A new mapping of whole pages, as the kernel maps them, with an unmapped page after it.</summary>
    protected ulong Alloc(int size)
    {
        var address = _next;
        var pages = (size + 4095) / 4096;
        Memory.Map(address, new byte[pages * 4096]);
        _next += (ulong)(pages + 1) * 4096;
        return address;
    }

    protected ulong Object(ulong type, int size)
    {
        var obj = Alloc(size);
        U64(obj + Offsets.ObType, type);
        return obj;
    }

    protected ulong Type(string name, ulong flags)
    {
        var type = Object(TypeType, 416);
        var text = Alloc(name.Length + 1);
        Encoding.ASCII.GetBytes(name).CopyTo(Span(text, name.Length));
        U64(type + Offsets.TypeName, text);
        U64(type + Offsets.TypeFlags, flags);
        return type;
    }

    protected ulong Str(string text)
    {
        var obj = Object(StrType, (int)Offsets.AsciiObjectSize + text.Length + 1);
        U64(obj + Offsets.UnicodeLength, (ulong)text.Length);
        U32(obj + Offsets.UnicodeState, 1 << 2 | 1 << 5 | 1 << 6); // kind 1, compact, ascii
        Encoding.ASCII.GetBytes(text).CopyTo(Span(obj + Offsets.AsciiObjectSize, text.Length));
        return obj;
    }

    protected ulong ByteString(byte[] data)
    {
        var obj = Object(BytesType, (int)Offsets.BytesData + data.Length + 1);
        U64(obj + Offsets.BytesSize, (ulong)data.Length);
        if (data.Length > 0) data.CopyTo(Span(obj + Offsets.BytesData, data.Length));
        return obj;
    }

    protected ulong Tuple(ulong[] items)
    {
        var obj = Object(TupleType, (int)Offsets.TupleItems + 8 * items.Length);
        U64(obj + Offsets.TupleSize, (ulong)items.Length);
        for (var i = 0; i < items.Length; i++) U64(obj + Offsets.TupleItems + (ulong)i * 8, items[i]);
        return obj;
    }
}
