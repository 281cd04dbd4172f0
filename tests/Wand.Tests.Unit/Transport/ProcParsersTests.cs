using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.Unit.Transport;

public class ProcParsersTests
{
    [Fact]
    public void ParsesMapsLines()
    {
        const string text = """
            00400000-00421000 r--p 00000000 fe:01 1835123                            /var/cache/wand-testbed/rootfs/usr/bin/python3.14
            7f0a1c000000-7f0a1c021000 rw-p 00000000 00:00 0
            7f0a2c3d0000-7f0a2c3f0000 r-xp 00012000 08:03 99 /opt/my app/lib/libpython3.14.so.1.0 (deleted)
            garbage line
            7ffd5e1f3000-7ffd5e214000 rw-p 00000000 00:00 0                          [stack]
            """;
        var maps = ProcMapsEntry.ParseAll(text);
        Assert.Equal(4, maps.Count);
        Assert.Equal(0x400000UL, maps[0].Start);
        Assert.Equal("python3.14", maps[0].FileName);
        Assert.Equal((0xfeu, 1u), (maps[0].DevMajor, maps[0].DevMinor));
        Assert.True(maps[0].IsFile);
        Assert.False(maps[1].IsFile);
        Assert.Equal("/opt/my app/lib/libpython3.14.so.1.0 (deleted)", maps[2].Path);
        Assert.Equal(0x12000UL, maps[2].Offset);
        Assert.False(maps[3].IsFile);
    }

    [Fact]
    public void ParsesStatWithAwkwardComm()
    {
        const string stat = "4242 (my) (app)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 3 0 123456 100000000 2500 18446744073709551615";
        var s = ProcStat.Parse(stat + " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0");
        Assert.NotNull(s);
        Assert.Equal(4242, s.Pid);
        Assert.Equal("my) (app)", s.Comm);
        Assert.Equal('S', s.State);
        Assert.Equal(1, s.ParentPid);
        Assert.Equal(150UL, s.UserTicks);
        Assert.Equal(25UL, s.SystemTicks);
        Assert.Equal(3, s.Threads);
        Assert.Equal(123456UL, s.StartTicks);
        Assert.Equal(2500L, s.RssPages);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12 (x")]
    [InlineData("12 (x) S 1")]
    [InlineData("abc (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23")]
    public void RejectsBrokenStat(string text) => Assert.Null(ProcStat.Parse(text));

    [Fact]
    public void ParsesStatus()
    {
        var s = ProcStatus.Parse("Name:\tpython3.14\nUid:\t1000\t1001\t1000\t1000\nGid:\t100\t101\t100\t100\nNSpid:\t4242\t7\n");
        Assert.NotNull(s);
        Assert.Equal((1000, 1001, 100, 101), (s.Uid, s.EffectiveUid, s.Gid, s.EffectiveGid));
        Assert.Equal([4242, 7], s.NamespacePids);
        Assert.Null(ProcStatus.Parse("Name:\tx\n"));
        Assert.Equal(0, s.TracerPid);
    }

    [Fact]
    public void ParsesTheTracer() =>
        Assert.Equal(4321, ProcStatus.Parse("Name:\tpython3.9\nTracerPid:\t4321\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")!.TracerPid);
}
