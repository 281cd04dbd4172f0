using System.Buffers.Binary;
using System.Text;

namespace Wand.Tests.Unit.Attacher;

/// <summary>Builds small, valid 64-bit little-endian ELF files with chosen sections, for parser tests.</summary>
public static class SyntheticElf
{
    public sealed record Section(string Name, ulong Address, byte[] Data, uint Type = 1);

    public static byte[] Build(ushort type, ulong loadVaddr, params Section[] sections)
    {
        var names = new MemoryStream();
        names.WriteByte(0);
        var nameOffsets = new List<int>();
        foreach (var s in sections.Select(s => s.Name).Append(".shstrtab"))
        {
            nameOffsets.Add((int)names.Length);
            names.Write(Encoding.ASCII.GetBytes(s + "\0"));
        }

        const int ehsize = 64, phentsize = 56;
        var offset = ehsize + phentsize;
        var dataOffsets = new List<int>();
        foreach (var s in sections) { dataOffsets.Add(offset); offset += s.Data.Length; }
        var namesOffset = offset;
        offset += (int)names.Length;
        var shoff = (offset + 7) & ~7;
        var shnum = sections.Length + 2; // null section + sections + .shstrtab
        var file = new byte[shoff + shnum * 64];
        var f = file.AsSpan();

        f[0] = 0x7f; f[1] = (byte)'E'; f[2] = (byte)'L'; f[3] = (byte)'F'; f[4] = 2; f[5] = 1; f[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(f[16..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(f[18..], 62);
        BinaryPrimitives.WriteUInt64LittleEndian(f[32..], ehsize);
        BinaryPrimitives.WriteUInt64LittleEndian(f[40..], (ulong)shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(f[52..], ehsize);
        BinaryPrimitives.WriteUInt16LittleEndian(f[54..], phentsize);
        BinaryPrimitives.WriteUInt16LittleEndian(f[56..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(f[58..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(f[60..], (ushort)shnum);
        BinaryPrimitives.WriteUInt16LittleEndian(f[62..], (ushort)(shnum - 1));

        var ph = f[ehsize..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], loadVaddr);

        for (var i = 0; i < sections.Length; i++)
        {
            sections[i].Data.CopyTo(f[dataOffsets[i]..]);
            WriteSectionHeader(f[(shoff + (i + 1) * 64)..], (uint)nameOffsets[i], sections[i].Type, sections[i].Address, (ulong)dataOffsets[i], (ulong)sections[i].Data.Length);
        }
        names.ToArray().CopyTo(f[namesOffset..]);
        WriteSectionHeader(f[(shoff + (shnum - 1) * 64)..], (uint)nameOffsets[^1], 3, 0, (ulong)namesOffset, (ulong)names.Length);
        return file;
    }

    private static void WriteSectionHeader(Span<byte> h, uint name, uint type, ulong addr, ulong offset, ulong size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(h, name);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], type);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], addr);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], offset);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], size);
    }
}
