using System.Runtime.InteropServices;

namespace Wand.Bench.Harness;

/// <summary>
/// CPU time (user + system) of this process's reaped children, from getrusage(RUSAGE_CHILDREN). The
/// difference around one child's run is that child's CPU time when no other child ends meanwhile.
/// </summary>
public static partial class ChildCpu
{
    private const int RusageChildren = -1;

    public static TimeSpan Total()
    {
        // struct rusage on 64-bit Linux: ru_utime, ru_stime (timeval: 2 longs each), then 14 longs.
        Span<long> usage = stackalloc long[18];
        if (getrusage(RusageChildren, ref MemoryMarshal.GetReference(usage)) != 0) return TimeSpan.Zero;
        var micros = usage[0] * 1_000_000 + usage[1] + usage[2] * 1_000_000 + usage[3];
        return TimeSpan.FromMicroseconds(micros);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrusage(int who, ref long usage);
}
