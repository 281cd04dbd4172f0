using System.Runtime.InteropServices;

namespace Wand.Transport;

/// <summary>Sending a signal to a process (kill(2)): a child asked to end before it is killed (a job's SIGTERM passed on to the program).</summary>
internal static partial class Signals
{
    public const int SIGINT = 2;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;
}
