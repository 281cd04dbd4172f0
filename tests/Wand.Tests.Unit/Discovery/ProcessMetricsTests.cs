using Wand.Discovery;
using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.Unit.Discovery;

public class ProcessMetricsTests
{
    private static ProcStat Stat(ulong user, ulong system, ulong start = 1000, long rss = 0) =>
        new(42, "python3.14", 'S', 1, user, system, start, rss, 1);

    [Fact]
    public void CpuIsTicksOverWallTimeInPercentOfOneCore()
    {
        // 10 user + 10 system ticks at 100 Hz = 0.2 s of CPU in 0.2 s: one core fully busy.
        Assert.Equal(100, ProcessMetrics.CpuPercent(Stat(100, 50), Stat(110, 60), TimeSpan.FromMilliseconds(200), 100), 6);
        Assert.Equal(25, ProcessMetrics.CpuPercent(Stat(0, 0), Stat(5, 0), TimeSpan.FromMilliseconds(200), 100), 6);
        // two busy threads: over 100 %, as top shows it
        Assert.Equal(200, ProcessMetrics.CpuPercent(Stat(0, 0), Stat(30, 10), TimeSpan.FromMilliseconds(200), 100), 6);
    }

    [Fact]
    public void CpuOfAnIdleProcessAndDegenerateInputsIsZero()
    {
        Assert.Equal(0, ProcessMetrics.CpuPercent(Stat(7, 3), Stat(7, 3), TimeSpan.FromMilliseconds(200), 100));
        Assert.Equal(0, ProcessMetrics.CpuPercent(Stat(7, 3), Stat(9, 3), TimeSpan.Zero, 100));
        Assert.Equal(0, ProcessMetrics.CpuPercent(Stat(70, 3), Stat(9, 3), TimeSpan.FromSeconds(1), 100)); // counters went back: another process
    }

    [Fact]
    public void RssIsPagesTimesPageSize()
    {
        Assert.Equal(2560L * 4096, ProcessMetrics.RssBytes(Stat(0, 0, rss: 2560), 4096));
        Assert.Equal(0, ProcessMetrics.RssBytes(Stat(0, 0, rss: 0), 4096));
    }

    [Fact]
    public void UptimeIsBootUptimeMinusStartTime()
    {
        // started 1000 ticks (10 s) after boot, system up for 3610.5 s
        Assert.Equal(TimeSpan.FromSeconds(3600.5), ProcessMetrics.Uptime(Stat(0, 0, start: 1000), 3610.5, 100));
        // a process that started in the same tick as the reading never shows negative
        Assert.Equal(TimeSpan.Zero, ProcessMetrics.Uptime(Stat(0, 0, start: 1000), 9.99, 100));
    }

    [Fact]
    public void MathOnAParsedStatLine()
    {
        // utime 250, stime 50, starttime 123456, rss 5000 pages (fields 14, 15, 22, 24 of proc(5))
        var line = "4722 (python3.14) S 1 4722 4722 0 -1 4194560 12345 0 0 0 250 50 0 0 20 0 3 0 123456 200000000 5000 18446744073709551615 0 0 0 0 0 0 0 16781312 16386 0 0 0 17 3 0 0 0 0 0";
        var stat = ProcStat.Parse(line)!;
        Assert.Equal(5000L * 4096, ProcessMetrics.RssBytes(stat, 4096));
        Assert.Equal(TimeSpan.FromSeconds(100), ProcessMetrics.Uptime(stat, 1334.56, 100));
        var later = stat with { UserTicks = 270, SystemTicks = 50 };
        Assert.Equal(50, ProcessMetrics.CpuPercent(stat, later, TimeSpan.FromMilliseconds(400), 100), 6);
    }
}
