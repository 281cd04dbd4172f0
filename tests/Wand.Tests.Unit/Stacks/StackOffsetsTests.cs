using System.Buffers.Binary;
using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Stacks;
using Xunit;

namespace Wand.Tests.Unit.Stacks;

public class StackOffsetsTests
{
    [Fact]
    public void DecodesTheRealPython313Table()
    {
        var o = StackOffsets.Parse(RealTables.Padded(RealTables.Python313));
        Assert.Equal("3.13.18", o.Version.ToString());
        // Values as printed by offsetof() in Debian's build, checked against the 3.13 header's order.
        Assert.Equal(632UL, o.InterpretersHead);
        Assert.Equal(7344UL, o.ThreadsHead);
        Assert.Equal(7768UL, o.GilLocked);
        Assert.Equal(7760UL, o.GilLastHolder);
        Assert.Equal(160UL, o.ThreadNativeId);
        Assert.Equal(72UL, o.ThreadCurrentFrame);
        Assert.Equal(70UL, o.FrameOwner);
        Assert.Equal(200UL, o.CodeAdaptive);
        Assert.Equal(40UL, o.AsciiObjectSize);
        Assert.Equal(24UL, o.SetUsed); // not in 3.13's table: PySetObject's own layout
    }

    [Fact]
    public void DecodesTheRealPython314Table()
    {
        var o = StackOffsets.Parse(RealTables.Padded(RealTables.Python314));
        Assert.Equal("3.14.10", o.Version.ToString());
        Assert.Equal(808UL, o.InterpretersHead);
        Assert.Equal(160UL, o.ThreadNativeId);
        Assert.Equal(74UL, o.FrameOwner);
        Assert.Equal(80UL, o.FrameLocalsPlus);
        Assert.Equal(208UL, o.CodeAdaptive);
        Assert.Equal(24UL, o.SetUsed);
    }

    [Fact]
    public void DecodesTheRealPython315Table()
    {
        var o = StackOffsets.Parse(RealTables.Padded(RealTables.Python315));
        Assert.Equal("3.15.2", o.Version.ToString());
        Assert.Equal(936UL, o.InterpretersHead);
        Assert.Equal(184UL, o.ThreadNativeId); // after base_frame, last_profiled_frame(_seq), thread_id
        Assert.Equal(72UL, o.ThreadCurrentFrame);
        Assert.Equal(74UL, o.FrameOwner);
        Assert.Equal(24UL, o.TypeName);
        Assert.Equal(40UL, o.AsciiObjectSize);
    }

    /// <summary>The two decoders of the same table agree where they overlap, for every version both know.</summary>
    [Theory]
    [InlineData(14)]
    [InlineData(15)]
    public void LayoutsAgreeWithTheAttachersDecoder(int minor)
    {
        var layout = StackOffsets.Layouts[(3, minor)];
        Assert.Equal(DebugOffsets.DebuggerSupportStart[(3, minor)], layout.ToList().IndexOf("debugger_support.eval_breaker") * 8);
        Assert.Equal(DebugOffsets.ThreadNativeIdAt[(3, minor)], layout.ToList().IndexOf("thread_state.native_thread_id") * 8);
        Assert.Equal(DebugOffsets.DebuggerSupportStart[(3, minor)] + 48, layout.Count * 8);
    }

    /// <summary>
    /// Defect: the attacher read native_thread_id at table offset 224 for 3.15 too, where 3.15 has
    /// last_profiled_frame, so on 3.15 the safe-point error named thread 0 and no wait channel.
    /// </summary>
    [Fact]
    public void AttacherReadsTheRealPython315NativeThreadId()
    {
        var table = new byte[DebugOffsets.MaxTableSize];
        RealTables.Python315.CopyTo(table, 0);
        Assert.Equal(184UL, DebugOffsets.Parse(table).ThreadNativeId);
    }

    /// <summary>Versions without a layout name the versions wand reads; 3.9-3.12 have layouts without a table.</summary>
    [Fact]
    public void RefusesVersionsWithoutALayoutNamingTheKnownOnes()
    {
        var table = RealTables.Padded(RealTables.Python313);
        table[0] = (byte)'y';
        var e = Assert.Throws<UnsupportedPythonException>(() => StackOffsets.Parse(table));
        Assert.Contains("3.9, 3.10, 3.11, 3.12, 3.13, 3.14, 3.15", e.Hint);
        var named = Assert.Throws<UnsupportedPythonException>(() => StackOffsets.ForLegacy(8, null, "3.8"));
        Assert.Contains("Python 3.8", named.Message);
        Assert.Contains("does not know its memory layout", named.Message);

        StackOffsets.EnsureSupported(PythonVersion.FromHex(0x030B02F0));
        Assert.Throws<UnsupportedPythonException>(() => StackOffsets.EnsureSupported(PythonVersion.FromHex(0x030800F0)));
        var legacy = StackOffsets.ForLegacy(9, null, "3.9");
        Assert.Equal("3.9", legacy.VersionText);
        Assert.True(legacy.FrameObjects);
        Assert.Equal("3.11.2", StackOffsets.ForLegacy(11, PythonVersion.FromHex(0x030B02F0), "3.11").VersionText);
    }

    [Fact]
    public void RefusesFreeThreadedPreReleaseAndUnknownVersions()
    {
        var ft = RealTables.Padded(RealTables.Python314);
        BinaryPrimitives.WriteUInt64LittleEndian(ft.AsSpan(16), 1);
        Assert.Contains("free-threaded", Assert.Throws<UnsupportedPythonException>(() => StackOffsets.Parse(ft)).Message);

        var pre = RealTables.Padded(RealTables.Python315);
        BinaryPrimitives.WriteUInt64LittleEndian(pre.AsSpan(8), 0x030F00A3);
        Assert.Contains("pre-release", Assert.Throws<UnsupportedPythonException>(() => StackOffsets.Parse(pre)).Message);

        var next = RealTables.Padded(RealTables.Python315);
        BinaryPrimitives.WriteUInt64LittleEndian(next.AsSpan(8), 0x031000F0);
        Assert.Contains("upgrade wand", Assert.Throws<UnsupportedPythonException>(() => StackOffsets.Parse(next)).Hint);
    }

    [Fact]
    public void RejectsImplausibleValues()
    {
        var t = RealTables.Padded(RealTables.Python314);
        var at = StackOffsets.Layouts[(3, 14)].ToList().IndexOf("interpreter_frame.owner") * 8;
        BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(at), 4000); // outside the 88-byte frame
        Assert.Throws<StackReadException>(() => StackOffsets.Parse(t));
        BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(at), ulong.MaxValue);
        Assert.Throws<StackReadException>(() => StackOffsets.Parse(t));
    }
}
