using Wand.Injection.Attacher;
using Xunit;

namespace Wand.Tests.Unit.Attacher;

public class ElfImageTests
{
    private static readonly byte[] Runtime = [.. "xdebugpy"u8, 0xf0, 0, 0x0e, 3, 0, 0, 0, 0];

    private static byte[] Sample() => SyntheticElf.Build(3, 0x1234,
        new SyntheticElf.Section(".text", 0x1000, new byte[32]),
        new SyntheticElf.Section(".PyRuntime", 0x5000, Runtime));

    [Fact]
    public void ReadsTypeFirstLoadAndSections()
    {
        var elf = ElfImage.Read(new MemoryStream(Sample()));
        Assert.Equal(3, elf.Type);
        Assert.Equal(0x1000UL, elf.FirstLoadVaddr); // page-aligned p_vaddr
        var section = elf.Section(".PyRuntime");
        Assert.NotNull(section);
        Assert.Equal(0x5000UL, section.Address);
        Assert.Equal(Runtime, elf.ReadSection(section, 64));
        Assert.Null(elf.Section(".missing"));
    }

    [Fact]
    public void ReadSectionStopsAtMax() =>
        Assert.Equal(8, ElfImage.Read(new MemoryStream(Sample())).ReadSection(ElfImage.Read(new MemoryStream(Sample())).Section(".PyRuntime")!, 8).Length);

    [Fact]
    public void EveryTruncationFailsCleanly()
    {
        var full = Sample();
        for (var length = 0; length < full.Length; length++)
        {
            var stream = new MemoryStream(full[..length]);
            try
            {
                var elf = ElfImage.Read(stream);
                // A truncation may leave the headers intact; reading the section must then fail cleanly.
                if (elf.Section(".PyRuntime") is { } s) elf.ReadSection(s, 1 << 20);
            }
            catch (ElfFormatException)
            {
            }
        }
    }

    [Theory]
    [InlineData(0, 0x00)] // bad magic
    [InlineData(4, 1)]    // 32-bit
    [InlineData(5, 2)]    // big-endian
    public void RejectsWrongIdent(int index, byte value)
    {
        var bytes = Sample();
        bytes[index] = value;
        Assert.Throws<ElfFormatException>(() => ElfImage.Read(new MemoryStream(bytes)));
    }

    [Fact]
    public void RejectsSectionTablePastEndOfFile()
    {
        var bytes = Sample();
        BitConverter.TryWriteBytes(bytes.AsSpan(40), (ulong)bytes.Length - 8);
        Assert.Throws<ElfFormatException>(() => ElfImage.Read(new MemoryStream(bytes)));
    }

    [Fact]
    public void RejectsHugeOffsetsWithoutOverflow()
    {
        var bytes = Sample();
        BitConverter.TryWriteBytes(bytes.AsSpan(40), ulong.MaxValue - 10);
        Assert.Throws<ElfFormatException>(() => ElfImage.Read(new MemoryStream(bytes)));
    }

    [Fact]
    public void RejectsNameTableIndexOutOfRange()
    {
        var bytes = Sample();
        BitConverter.TryWriteBytes(bytes.AsSpan(62), (ushort)200);
        Assert.Throws<ElfFormatException>(() => ElfImage.Read(new MemoryStream(bytes)));
    }

    [Fact]
    public void RejectsMissingLoadSegment()
    {
        var bytes = Sample();
        BitConverter.TryWriteBytes(bytes.AsSpan(64), 6u); // PT_PHDR instead of PT_LOAD
        Assert.Throws<ElfFormatException>(() => ElfImage.Read(new MemoryStream(bytes)));
    }

    [Fact]
    public void RandomCorruptionNeverCrashes()
    {
        var random = new Random(768);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = Sample();
            for (var j = 0; j < 4; j++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            try
            {
                var elf = ElfImage.Read(new MemoryStream(bytes));
                foreach (var s in elf.Sections.Where(s => s.HasFileBytes)) elf.ReadSection(s, 4096);
                elf.FindSymbol("_PyRuntime");
            }
            catch (ElfFormatException)
            {
            }
        }
    }
}
