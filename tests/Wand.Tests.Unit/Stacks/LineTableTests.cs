using Wand.Stacks;
using Xunit;

namespace Wand.Tests.Unit.Stacks;

public class LineTableTests
{
    /// <summary>
    /// co_linetable, co_firstlineno and the line of every code unit (from co_lines(); "n" for none) of
    /// one function compiled by Debian's real python3.14 and python3.13: short, one-line, no-column,
    /// long and none entries all occur (a comprehension, a jump over blank lines, try/except, a for loop).
    /// </summary>
    /// <summary>
    /// co_lnotab and the line of every instruction (from dis.findlinestarts) of a function compiled by
    /// bullseye's real python3.9: a for loop, try/except, a comprehension, a while loop and an
    /// expression over two lines, whose negative line step is a signed byte.
    /// </summary>
    [Fact]
    public void MatchesPython39sLineStarts()
    {
        var table = Convert.FromHexString("00010401080102011e010c01100108010a01020102ff");
        var lines = "3,3,4,4,4,4,5,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,7,7,7,7,7,7,8,8,8,8,8,8,8,8,9,9,9,9,10,10,10,10,10,11,12,11,11".Split(',');
        for (var i = 0; i < lines.Length; i++)
            Assert.True(int.Parse(lines[i]) == LineTable.LineOfLnotab(table, 2, i * 2), $"offset {i * 2}: want {lines[i]}, got {LineTable.LineOfLnotab(table, 2, i * 2)}");
        Assert.Equal(2, LineTable.LineOfLnotab([], 2, 10));
        Assert.Equal(3, LineTable.LineOfLnotab([0, 1, 7], 2, 10)); // an odd trailing byte is ignored
    }

    /// <summary>
    /// 3.10's co_linetable (PEP 626), the example of its Objects/lnotab_notes.txt: bytes 0-5 line 1,
    /// 6-49 line 2, 50-349 line 7 (split into 254 and 46 bytes, the second with line delta 0), 350-359
    /// no line (-128), 360-375 line 8; past the table, no line.
    /// </summary>
    [Fact]
    public void Decodes310PairsAsPyCodeAddr2Line()
    {
        byte[] table = [6, 1, 44, 1, 254, 5, 46, 0, 10, 0x80, 16, 1];
        foreach (var (offset, line) in new (long, int?)[] { (0, 1), (4, 1), (6, 2), (48, 2), (50, 7), (300, 7), (349, 7), (350, null), (359, null), (360, 8), (375, 8), (376, null), (-2, 0) })
            Assert.True(LineTable.LineOf310(table, 0, offset) == line, $"offset {offset}: want {line}, got {LineTable.LineOf310(table, 0, offset)}");
        Assert.Null(LineTable.LineOf310([5], 0, 0)); // an odd trailing byte is no entry
    }

    [Theory]
    [InlineData(
        "8000d808098d058041d8070888318475dc181d98619c08d30c21990890318a5199088801d00c21f006000e0fd80d0ef003010d108901f006000d118801dc0d1290318e588801f002030911d80c0d8d468a41f105000e16f00a000c0d8834804bf9f219000d22f8f414001019f400010911da0c10f003010911fa",
        2,
        "2,3,3,3,3,3,3,3,3,4,4,4,4,4,4,4,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,8,9,8,8,8,11,11,12,12,12,12,12,12,12,12,12,12,12,12,12,12,13,14,14,14,14,14,14,14,14,14,14,12,12,17,17,17,n,n,5,5,5,n,15,15,15,15,15,15,15,15,15,15,16,16,16,15,n,n,n")]
    [InlineData(
        "8000d8080989058041d8070888318375dc181d98619c08d30c219a0890318a5199088801d00c21f006000e0fd80d0ef003010d108901f006000d118801dc0d1290318e588801f002030911d80c0d89468a41f105000e16f00a000c0d8834804bf9f219000d22f8f414001019f300010911da0c10f003010911fa",
        2,
        "2,3,3,3,3,4,4,4,4,4,4,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,8,9,8,8,8,11,11,12,12,12,12,12,12,12,12,12,12,12,12,12,12,13,14,14,14,14,14,14,12,12,17,17,17,n,n,5,5,5,n,15,15,15,15,15,15,15,15,15,16,16,16,15,n,n,n")]
    public void MatchesCPythonsOwnCoLines(string tableHex, int firstLine, string expected)
    {
        var table = Convert.FromHexString(tableHex);
        var lines = expected.Split(',');
        for (var unit = 0; unit < lines.Length; unit++)
        {
            int? want = lines[unit] == "n" ? null : int.Parse(lines[unit]);
            Assert.True(want == LineTable.LineOf(table, firstLine, unit), $"code unit {unit}: want {want?.ToString() ?? "none"}, got {LineTable.LineOf(table, firstLine, unit)?.ToString() ?? "none"}");
        }
        Assert.Null(LineTable.LineOf(table, firstLine, lines.Length)); // past the end
    }

    [Fact]
    public void DecodesEachEntryKind()
    {
        // NO_COLUMNS (13) +5 for 2 units, ONE_LINE1 (11) for 1 unit, LONG (14) -3 for 1 unit, NONE (15) for 3 units, short (0) for 1 unit.
        byte[] table =
        [
            0x80 | 13 << 3 | 1, 10,             // signed varint 5 -> 10
            0x80 | 11 << 3 | 0, 4, 9,          // line + 1, columns 4..9
            0x80 | 14 << 3 | 0, 7, 0, 1, 1,    // signed varint -3 -> 7; end line, columns
            0x80 | 15 << 3 | 2,                 // no location
            0x80 | 0 << 3 | 0, 0x12,            // short form: same line
        ];
        Assert.Equal(105, LineTable.LineOf(table, 100, 0));
        Assert.Equal(105, LineTable.LineOf(table, 100, 1));
        Assert.Equal(106, LineTable.LineOf(table, 100, 2));
        Assert.Equal(103, LineTable.LineOf(table, 100, 3));
        Assert.Null(LineTable.LineOf(table, 100, 4));
        Assert.Null(LineTable.LineOf(table, 100, 6));
        Assert.Equal(103, LineTable.LineOf(table, 100, 7));
    }

    [Fact]
    public void MultiByteVarints()
    {
        // NO_COLUMNS with delta 1000: zigzag 2000 = 0b11111_010000 -> 0x50 | 0x40 (more), then 31.
        byte[] table = [0x80 | 13 << 3, 0x40 | (2000 & 63), 2000 >> 6];
        Assert.Equal(1001, LineTable.LineOf(table, 1, 0));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x00, 0x01 })]                    // entry without the high bit
    [InlineData(new byte[] { 0x80 | 13 << 3 })]                 // varint missing
    [InlineData(new byte[] { 0x80 | 13 << 3, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40 })] // endless varint
    [InlineData(new byte[] { 0x80 | 10 << 3, 1 })]              // one-line entry missing a column byte
    [InlineData(new byte[] { 0x80 | 3 << 3, 0x80 })]            // short form with a bad second byte
    public void MalformedTablesGiveNoLine(byte[] table) => Assert.Null(LineTable.LineOf(table, 1, 0));

    [Fact]
    public void NegativeOffsetsGiveNoLine() => Assert.Null(LineTable.LineOf([0x80 | 13 << 3, 2], 1, -1));

    [Fact]
    public void RandomBytesNeverThrow()
    {
        var random = new Random(18);
        for (var i = 0; i < 20_000; i++)
        {
            var table = new byte[random.Next(0, 64)];
            random.NextBytes(table);
            _ = LineTable.LineOf(table, random.Next(-5, 1000), random.Next(-2, 200));
        }
    }
}
