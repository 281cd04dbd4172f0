using System.Buffers.Binary;
using Wand.Errors;
using Wand.Injection.Attacher;
using Xunit;

namespace Wand.Tests.Unit.Attacher;

public class DebugOffsetsTests
{
    /// <summary>A table laid out as CPython 3.14's, with recognisable values.</summary>
    public static byte[] Table(ulong versionHex, int debuggerSupportStart = 712)
    {
        var t = new byte[DebugOffsets.MaxTableSize];
        "xdebugpy"u8.CopyTo(t);
        void Put(int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(offset), value);
        Put(8, versionHex);
        Put(40, 1040); Put(56, 8); Put(64, 16); Put(72, 24); Put(80, 32);
        Put(192, 40); Put(200, 48); Put(224, 56);
        Put(debuggerSupportStart, 24); Put(debuggerSupportStart + 8, 304); Put(debuggerSupportStart + 16, 8076);
        Put(debuggerSupportStart + 24, 0); Put(debuggerSupportStart + 32, 4); Put(debuggerSupportStart + 40, 512);
        return t;
    }

    [Fact]
    public void ParsesPython314Final()
    {
        var o = DebugOffsets.Parse(Table(0x030E0AF0));
        Assert.Equal("3.14.10", o.Version.ToString());
        Assert.Equal(1040UL, o.InterpretersHead);
        Assert.Equal(32UL, o.ThreadsMain);
        Assert.Equal(56UL, o.ThreadNativeId);
        Assert.Equal(24UL, o.EvalBreaker);
        Assert.Equal(304UL, o.RemoteDebuggerSupport);
        Assert.Equal(8076UL, o.RemoteDebuggingEnabled);
        Assert.Equal(4UL, o.ScriptPath);
        Assert.Equal(512UL, o.ScriptPathSize);
    }

    [Fact]
    public void Python315UsesItsOwnLayout()
    {
        var o = DebugOffsets.Parse(Table(0x030F02F0, 840));
        Assert.Equal(304UL, o.RemoteDebuggerSupport);
        Assert.Equal(512UL, o.ScriptPathSize);
    }

    [Fact]
    public void RejectsWrongCookie()
    {
        var t = Table(0x030E0AF0);
        t[0] = (byte)'y';
        var e = Assert.Throws<UnsupportedPythonException>(() => DebugOffsets.Parse(t));
        Assert.Contains("cookie", e.Message);
    }

    [Fact]
    public void RefusesPython313WithAdvice()
    {
        var e = Assert.Throws<UnsupportedPythonException>(() => DebugOffsets.Parse(Table(0x030D05F0)));
        Assert.Contains("3.13.5", e.Message);
        Assert.Equal(RemedyKind.StartUnderLauncher, e.Remedy?.Kind);
        Assert.Equal(ExitCodes.UnsupportedPython, e.ExitCode);
    }

    [Fact]
    public void RefusesPreRelease()
    {
        var e = Assert.Throws<UnsupportedPythonException>(() => DebugOffsets.Parse(Table(0x030F00A3, 840)));
        Assert.Contains("3.15.0a3", e.Message);
        Assert.Contains("pre-release", e.Message);
    }

    [Fact]
    public void RefusesUnknownMinor()
    {
        var e = Assert.Throws<UnsupportedPythonException>(() => DebugOffsets.Parse(Table(0x031000F0)));
        Assert.Contains("3.16.0", e.Message);
        Assert.Contains("upgrade wand", e.Hint);
    }

    [Fact]
    public void RejectsImplausibleValues()
    {
        var t = Table(0x030E0AF0);
        BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(712 + 40), 0); // script path size 0
        Assert.Throws<InjectionFailedException>(() => DebugOffsets.Parse(t));
        t = Table(0x030E0AF0);
        BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(40), ulong.MaxValue);
        Assert.Throws<InjectionFailedException>(() => DebugOffsets.Parse(t));
    }

    [Fact]
    public void RejectsTruncatedTable() =>
        Assert.Throws<InjectionFailedException>(() => DebugOffsets.Parse(Table(0x030E0AF0).AsSpan(0, 300)));

    [Theory]
    [InlineData(0x030E00F0UL, "3.14.0")]
    [InlineData(0x030E00C1UL, "3.14.0rc1")]
    [InlineData(0x030F00B2UL, "3.15.0b2")]
    public void FormatsVersions(ulong hex, string expected) => Assert.Equal(expected, PythonVersion.FromHex(hex).ToString());
}
