using Wand.Transport.Local;

namespace Wand.Discovery;

/// <summary>CPU, memory and age of a process from /proc/PID/stat samples (pure arithmetic, see proc(5)).</summary>
public static class ProcessMetrics
{
    /// <summary>
    /// CPU use between two samples of the same process, in percent of one core (like top's %CPU, so a
    /// process busy on two cores shows 200): user+system ticks consumed over wall time elapsed.
    /// </summary>
    public static double CpuPercent(ProcStat before, ProcStat after, TimeSpan elapsed, long ticksPerSecond)
    {
        if (elapsed <= TimeSpan.Zero || ticksPerSecond <= 0) return 0;
        var busyBefore = before.UserTicks + before.SystemTicks;
        var busyAfter = after.UserTicks + after.SystemTicks;
        if (busyAfter < busyBefore) return 0; // not the same process (PID reused between the samples)
        return (busyAfter - busyBefore) / (double)ticksPerSecond / elapsed.TotalSeconds * 100;
    }

    /// <summary>Resident memory: the rss field counts pages.</summary>
    public static long RssBytes(ProcStat stat, long pageSize) => Math.Max(0, stat.RssPages) * pageSize;

    /// <summary>Time since the process started: starttime is in clock ticks after boot, /proc/uptime in seconds.</summary>
    public static TimeSpan Uptime(ProcStat stat, double systemUptimeSeconds, long ticksPerSecond)
    {
        if (ticksPerSecond <= 0) return TimeSpan.Zero;
        var seconds = systemUptimeSeconds - stat.StartTicks / (double)ticksPerSecond;
        return seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;
    }
}
