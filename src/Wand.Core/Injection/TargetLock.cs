using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Injection;

/// <summary>
/// Serialises wand's own requests to one process: two requests written at once would tear the script
/// path. An advisory lock (flock, through FileShare.None) on a per-user file named after the PID and
/// its start time, so a recycled PID gets a new lock.
/// </summary>
public sealed class TargetLock : IDisposable
{
    private readonly FileStream _file;

    private TargetLock(FileStream file) => _file = file;

    public static async Task<TargetLock> AcquireAsync(int pid, ProcFs procfs, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var stat = procfs.Stat(pid) ?? throw new ProcessNotFoundException(pid);
        var dir = Path.Combine(Path.GetTempPath(), $"wand-{Libc.geteuid()}");
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(dir, $"{pid}-{stat.StartTicks}.lock");
        var started = time.GetTimestamp();
        while (true)
        {
            try
            {
                return new TargetLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose));
            }
            catch (IOException) when (time.GetElapsedTime(started) < timeout)
            {
                await Task.Delay(10, cancellationToken);
            }
            catch (IOException)
            {
                throw new TargetBusyException(pid);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
