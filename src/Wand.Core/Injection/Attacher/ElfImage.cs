using System.Buffers.Binary;
using System.Text;

namespace Wand.Injection.Attacher;

/// <summary>
/// What wand needs from an ELF file: its type, the page-aligned vaddr of the first PT_LOAD (the load
/// bias is mapping base minus this) and its sections. Reads only headers and the tables it needs;
/// every offset and count is checked against the file length, so malformed input throws
/// <see cref="ElfFormatException"/> and never loops or allocates without bound.
/// </summary>
public sealed class ElfImage
{
    private const int MaxSections = 4096;
    private const int MaxStringTable = 16 << 20;
    private const int MaxSymbols = 4 << 20;

    private readonly Stream _stream;

    private ElfImage(Stream stream, ushort type, ulong firstLoadVaddr, IReadOnlyList<ElfSection> sections)
    {
        _stream = stream;
        Type = type;
        FirstLoadVaddr = firstLoadVaddr;
        Sections = sections;
    }

    /// <summary>ET_EXEC (2) or ET_DYN (3).</summary>
    public ushort Type { get; }

    /// <summary><c>p_vaddr</c> of the first PT_LOAD, rounded down to the page.</summary>
    public ulong FirstLoadVaddr { get; }

    public IReadOnlyList<ElfSection> Sections { get; }

    public ElfSection? Section(string name) => Sections.FirstOrDefault(s => s.Name == name);

    /// <summary>Parses the headers of the ELF file in <paramref name="stream"/> (seekable, left open).</summary>
    public static ElfImage Read(Stream stream)
    {
        var length = stream.Length;
        var ident = ReadAt(stream, 0, 64, length);
        if (ident[0] != 0x7f || ident[1] != (byte)'E' || ident[2] != (byte)'L' || ident[3] != (byte)'F')
            throw new ElfFormatException("not an ELF file (bad magic)");
        if (ident[4] != 2) throw new ElfFormatException("not a 64-bit ELF file");
        if (ident[5] != 1) throw new ElfFormatException("not a little-endian ELF file");

        var h = ident.AsSpan();
        var type = BinaryPrimitives.ReadUInt16LittleEndian(h[16..]);
        var phoff = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
        var shoff = BinaryPrimitives.ReadUInt64LittleEndian(h[40..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(h[56..]);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[58..]);
        var shnum = BinaryPrimitives.ReadUInt16LittleEndian(h[60..]);
        var shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(h[62..]);

        if (phentsize < 56 || shentsize < 64) throw new ElfFormatException("bad program or section header entry size");
        if (shnum > MaxSections || shstrndx >= shnum) throw new ElfFormatException("bad section header table");

        var firstLoad = FindFirstLoad(stream, phoff, phentsize, phnum, length);

        var sectionTable = ReadAt(stream, shoff, (long)shentsize * shnum, length);
        var raw = new (uint Name, uint Type, ulong Addr, ulong Offset, ulong Size)[shnum];
        for (var i = 0; i < shnum; i++)
        {
            var s = sectionTable.AsSpan(i * shentsize, shentsize);
            raw[i] = (BinaryPrimitives.ReadUInt32LittleEndian(s), BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(s[16..]), BinaryPrimitives.ReadUInt64LittleEndian(s[24..]),
                BinaryPrimitives.ReadUInt64LittleEndian(s[32..]));
        }

        var strtab = raw[shstrndx];
        if (strtab.Size > MaxStringTable) throw new ElfFormatException("section name table too large");
        var names = ReadAt(stream, strtab.Offset, (long)strtab.Size, length);
        var sections = raw.Select(r => new ElfSection(CString(names, r.Name), r.Type, r.Addr, r.Offset, r.Size)).ToArray();
        return new ElfImage(stream, type, firstLoad, sections);
    }

    /// <summary>Bytes of a section, at most <paramref name="max"/> of them.</summary>
    public byte[] ReadSection(ElfSection section, int max)
    {
        if (!section.HasFileBytes) throw new ElfFormatException($"section {section.Name} has no bytes in the file");
        return ReadAt(_stream, section.Offset, (long)Math.Min(section.Size, (ulong)max), _stream.Length);
    }

    /// <summary>
    /// Value (virtual address) of a defined symbol from .dynsym or .symtab, or null. With
    /// <paramref name="exportedOnly"/>, only .dynsym counts: the symbols the dynamic linker exports,
    /// which a stripped build keeps. Undefined entries (an import, section index 0) never match.
    /// </summary>
    public ulong? FindSymbol(string name, bool exportedOnly = false)
    {
        var tables = exportedOnly ? new[] { (".dynsym", ".dynstr") } : new[] { (".dynsym", ".dynstr"), (".symtab", ".strtab") };
        foreach (var (symtab, strtabName) in tables)
        {
            var syms = Section(symtab);
            var strs = Section(strtabName);
            if (syms is null || strs is null || !syms.HasFileBytes || !strs.HasFileBytes) continue;
            if (syms.Size / 24 > MaxSymbols || strs.Size > MaxStringTable) continue;
            var strings = ReadSection(strs, (int)strs.Size);
            var table = ReadSection(syms, (int)syms.Size);
            var wanted = Encoding.ASCII.GetBytes(name);
            for (var off = 0; off + 24 <= table.Length; off += 24)
            {
                var nameOff = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(off));
                if (nameOff >= strings.Length) continue;
                if (BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(off + 6)) == 0 /* SHN_UNDEF */) continue;
                var candidate = strings.AsSpan((int)nameOff);
                if (candidate.StartsWith(wanted) && (candidate.Length == wanted.Length || candidate[wanted.Length] == 0))
                    return BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(off + 8));
            }
        }
        return null;
    }

    /// <summary>
    /// <paramref name="count"/> bytes at virtual address <paramref name="address"/> as stored in the
    /// file (initialised data such as a <c>const</c> variable), or null when no section holds them.
    /// </summary>
    public byte[]? ReadVirtual(ulong address, int count)
    {
        var section = Sections.FirstOrDefault(s => s.HasFileBytes && s.Address != 0 && address >= s.Address && address + (ulong)count <= s.Address + s.Size);
        return section is null ? null : ReadAt(_stream, section.Offset + (address - section.Address), count, _stream.Length);
    }

    private static ulong FindFirstLoad(Stream stream, ulong phoff, ushort phentsize, ushort phnum, long length)
    {
        var table = ReadAt(stream, phoff, (long)phentsize * phnum, length);
        for (var i = 0; i < phnum; i++)
        {
            var p = table.AsSpan(i * phentsize, phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(p) != 1 /* PT_LOAD */) continue;
            var vaddr = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
            return vaddr & ~((ulong)Environment.SystemPageSize - 1);
        }
        throw new ElfFormatException("no PT_LOAD program header");
    }

    private static byte[] ReadAt(Stream stream, ulong offset, long count, long fileLength)
    {
        if (count < 0 || offset > (ulong)fileLength || (ulong)count > (ulong)fileLength - offset)
            throw new ElfFormatException($"truncated file: {count} bytes at offset {offset} past end ({fileLength})");
        var buffer = new byte[count];
        stream.Seek((long)offset, SeekOrigin.Begin);
        stream.ReadExactly(buffer);
        return buffer;
    }

    private static string CString(byte[] table, uint offset)
    {
        if (offset >= table.Length) return "";
        var span = table.AsSpan((int)offset);
        var end = span.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? span : span[..end]);
    }
}
