using Wand.Errors;

namespace Wand.Transport.Local;

/// <summary>
/// The one place that reads /proc. Parsing is done by the pure functions of <see cref="ProcStat"/>,
/// <see cref="ProcStatus"/> and <see cref="ProcMapsEntry"/>, which tests feed with synthetic text.
/// </summary>
public sealed class ProcFs(string root = "/proc")
{
    public static ProcFs Default { get; } = new();

    public string Root { get; } = root;

    public IEnumerable<int> Pids()
    {
        foreach (var dir in Directory.EnumerateDirectories(Root))
            if (int.TryParse(Path.GetFileName(dir), out var pid)) yield return pid;
    }

    public bool Exists(int pid) => Directory.Exists(PathOf(pid));

    public string PathOf(int pid, string? entry = null) => entry is null ? $"{Root}/{pid}" : $"{Root}/{pid}/{entry}";

    public string? TryReadText(int pid, string entry)
    {
        try
        {
            return File.ReadAllText(PathOf(pid, entry));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public IReadOnlyList<ProcMapsEntry> Maps(int pid)
    {
        try
        {
            return ProcMapsEntry.ParseAll(File.ReadAllText(PathOf(pid, "maps")));
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            throw new ProcessNotFoundException(pid);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new PermissionDeniedException(pid, $"read /proc/{pid}/maps: {e.Message}");
        }
        catch (IOException) when (!Exists(pid))
        {
            throw new ProcessNotFoundException(pid);
        }
    }

    public ProcStat? Stat(int pid) => TryReadText(pid, "stat") is { } t ? ProcStat.Parse(t) : null;

    public ProcStatus? Status(int pid) => TryReadText(pid, "status") is { } t ? ProcStatus.Parse(t) : null;

    public IReadOnlyList<string> CommandLine(int pid) =>
        TryReadText(pid, "cmdline") is { Length: > 0 } t ? t.TrimEnd('\0').Split('\0') : [];

    public string? ReadLink(int pid, string entry)
    {
        try
        {
            return new FileInfo(PathOf(pid, entry)).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Seconds since boot, from /proc/uptime.</summary>
    public double UptimeSeconds()
    {
        var text = File.ReadAllText($"{Root}/uptime");
        return double.Parse(text.AsSpan(0, text.IndexOf(' ')), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>TCP sockets in LISTEN state (IPv4 and IPv6) in the network namespace of <paramref name="pid"/>, or of this process.</summary>
    public IReadOnlyList<ListeningSocket> ListeningSockets(int? pid = null) =>
        new[] { "tcp", "tcp6" }
            .Select(f => pid is null ? $"{Root}/net/{f}" : $"{Root}/{pid}/net/{f}")
            .Where(File.Exists)
            .SelectMany(path => ListeningSocket.ParseAll(File.ReadAllText(path)))
            .ToList();

    /// <summary>The kernel thread ids of <paramref name="pid"/> (/proc/PID/task), ascending; empty when it is gone.</summary>
    public IReadOnlyList<int> ThreadIds(int pid)
    {
        try
        {
            return Directory.EnumerateDirectories(PathOf(pid, "task"))
                .Select(d => int.TryParse(Path.GetFileName(d), out var tid) ? tid : -1).Where(t => t > 0).Order().ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Kernel wait channel of a thread ("hrtimer_nanosleep", "do_epoll_wait"), or null.</summary>
    public string? WaitChannel(int pid, int tid) =>
        TryReadText(pid, $"task/{tid}/wchan") is { Length: > 0 } w && w != "0" ? w.Trim() : null;
}
