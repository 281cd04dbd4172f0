using System.Runtime.InteropServices;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// How many bytes a child wrote to one of its stdout/stderr pipes that this process has not read yet
/// (ioctl FIONREAD on our read end): the condition "all it wrote has been read" for a child whose pipe
/// another process (a daemon it started) keeps open, so that end-of-file never comes.
/// </summary>
internal static partial class UnreadPipe
{
    private const uint FIONREAD = 0x541B;

    /// <summary>Our read end of the pipe <paramref name="pid"/> has as fd <paramref name="childFd"/> (read while it runs), or null.</summary>
    public static int? ReadEndOf(int pid, int childFd)
    {
        try
        {
            if (new FileInfo($"/proc/{pid}/fd/{childFd}").LinkTarget is not { } pipe || !pipe.StartsWith("pipe:", StringComparison.Ordinal)) return null;
            foreach (var fd in Directory.EnumerateFiles("/proc/self/fd"))
                if (new FileInfo(fd).LinkTarget == pipe && int.TryParse(Path.GetFileName(fd), out var ours)) return ours;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // it ended before we looked
        }
        return null;
    }

    /// <summary>The unread bytes in the pipe at <paramref name="fd"/>; null when it is no longer open.</summary>
    public static int? Bytes(int fd) => Ioctl(fd, FIONREAD, out var count) == 0 ? count : null;

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, uint request, out int count);
}
