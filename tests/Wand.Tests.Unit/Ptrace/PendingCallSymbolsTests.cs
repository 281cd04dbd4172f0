using System.Buffers.Binary;
using System.Text;
using Wand.Injection.Attacher;
using Wand.Injection.Ptrace;
using Wand.Tests.Unit.Attacher;
using Xunit;

namespace Wand.Tests.Unit.Ptrace;

/// <summary>Finding Py_AddPendingCall and PyRun_SimpleString (and Py_Version) in synthetic ELF files.</summary>
public class PendingCallSymbolsTests
{
    private sealed record Symbol(string Name, ulong Value, ushort SectionIndex = 1);

    private static (byte[] Strings, byte[] Table) SymbolTable(params Symbol[] symbols)
    {
        var strings = new MemoryStream();
        strings.WriteByte(0);
        var table = new byte[(symbols.Length + 1) * 24]; // entry 0 is the null symbol
        for (var i = 0; i < symbols.Length; i++)
        {
            var e = table.AsSpan((i + 1) * 24, 24);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)strings.Length);
            e[4] = 0x12; // STB_GLOBAL, STT_FUNC
            BinaryPrimitives.WriteUInt16LittleEndian(e[6..], symbols[i].SectionIndex);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], symbols[i].Value);
            strings.Write(Encoding.ASCII.GetBytes(symbols[i].Name + "\0"));
        }
        return (strings.ToArray(), table);
    }

    private static byte[] Elf(Symbol[] dynamic, Symbol[]? local = null, params SyntheticElf.Section[] more)
    {
        var (dynstr, dynsym) = SymbolTable(dynamic);
        var sections = new List<SyntheticElf.Section>
        {
            new(".dynsym", 0x300, dynsym, Type: 11),
            new(".dynstr", 0x800, dynstr, Type: 3),
        };
        if (local is not null)
        {
            var (strtab, symtab) = SymbolTable(local);
            sections.Add(new(".symtab", 0, symtab, Type: 2));
            sections.Add(new(".strtab", 0, strtab, Type: 3));
        }
        sections.AddRange(more);
        return SyntheticElf.Build(3, 0, [.. sections]);
    }

    private static string Write(byte[] elf)
    {
        var path = Path.Combine(Path.GetTempPath(), $"wand-unit-elf-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, elf);
        return path;
    }

    [Fact]
    public void BothFunctionsAreFoundInTheDynamicSymbols()
    {
        var path = Write(Elf([new("PyRun_SimpleStringFlags", 0x9000), new("PyRun_SimpleString", 0x4e9cf2), new("Py_AddPendingCall", 0x4def06)]));
        try
        {
            Assert.Equal((0x4def06UL, 0x4e9cf2UL), PendingCallTarget.FindFunctions(path)); // not fooled by a longer name with the same start
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FunctionsThatAreNotExportedAreNotGuessed()
    {
        // Only in .symtab (a static, non-exported build), and an undefined import in .dynsym (an
        // embedder that links libpython): neither is an address in this file.
        var path = Write(Elf([new("Py_AddPendingCall", 0, SectionIndex: 0)], [new("Py_AddPendingCall", 0x4def06), new("PyRun_SimpleString", 0x4e9cf2)]));
        try
        {
            Assert.Equal(((ulong?)null, (ulong?)null), PendingCallTarget.FindFunctions(path));
            using var stream = File.OpenRead(path);
            Assert.Equal(0x4def06UL, ElfImage.Read(stream).FindSymbol("Py_AddPendingCall")); // .symtab still serves _PyRuntime lookups
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void PyVersionIsReadFromTheFile()
    {
        var data = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(8), 0x030b02f0);
        var elf = ElfImage.Read(new MemoryStream(Elf([new("Py_Version", 0x6008)], null, new SyntheticElf.Section(".rodata", 0x6000, data))));
        var address = elf.FindSymbol("Py_Version", exportedOnly: true)!.Value;
        Assert.Equal("3.11.2", PythonVersion.FromHex(BinaryPrimitives.ReadUInt32LittleEndian(elf.ReadVirtual(address, 4))).ToString());
        Assert.Null(elf.ReadVirtual(0x6010, 4)); // past the section's end
    }

    [Fact]
    public void TheBootstrapHidesPathsInHex()
    {
        var text = PendingCallTarget.Bootstrap("/tmp/wand-\"); import os #", "run.py", 0x7f0000001000, 8192);
        Assert.StartsWith("exec(bytes.fromhex(\"", text);
        Assert.EndsWith("\"_WAND_SCRIPT\": \"run.py\", \"_WAND_PAGE\": 139637976731648, \"_WAND_PAGE_SIZE\": 8192})\n", text);
        Assert.DoesNotContain("import os", text);
        var inner = Encoding.UTF8.GetString(Convert.FromHexString(text[20..text.IndexOf('"', 20)]));
        Assert.Contains("_wand_pending_call()", inner);
        // agent_ptrace.py fills the same text with Python's %: the two placeholders of each kind, nothing else.
        var template = PendingCallTarget.BootstrapTemplate;
        Assert.Equal(2, template.Split("%s").Length - 1);
        Assert.Equal(2, template.Split("%d").Length - 1);
        Assert.Equal(4, template.Split('%').Length - 1);
    }
}
