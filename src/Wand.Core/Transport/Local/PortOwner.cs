namespace Wand.Transport.Local;

/// <summary>Who listens on a local TCP port: the process (when visible to us) and its command line.</summary>
public sealed record PortOwner(int Port, int? Pid, IReadOnlyList<string> CommandLine)
{
    public bool IsDebugpyAdapter => CommandLine.Contains("--for-server") && CommandLine.Any(a => a.EndsWith("adapter", StringComparison.Ordinal));

    public string Describe() => Pid is { } pid
        ? $"PID {pid} ({string.Join(' ', CommandLine)})"
        : "a process wand cannot see (another user's, or in another namespace)";

    /// <summary>The listener on <paramref name="port"/> in this network namespace, or null when the port is free.</summary>
    public static PortOwner? Find(int port, ProcFs procfs)
    {
        var sockets = procfs.ListeningSockets().Where(s => s.Port == port).ToList();
        if (sockets.Count == 0) return null;
        var inodes = sockets.Select(s => $"socket:[{s.Inode}]").ToHashSet();
        foreach (var pid in procfs.Pids())
        {
            string[] fds;
            try
            {
                fds = Directory.GetFiles(procfs.PathOf(pid, "fd"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var fd in fds)
            {
                string? target;
                try
                {
                    target = new FileInfo(fd).LinkTarget;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                if (target is not null && inodes.Contains(target)) return new PortOwner(port, pid, procfs.CommandLine(pid));
            }
        }
        return new PortOwner(port, null, []);
    }

    /// <summary>
    /// The first port from <paramref name="start"/> upwards that nobody listens on and that can be bound on
    /// loopback now: a port that is the local end of a connection (an ephemeral port of any client) is not
    /// listed as listening, yet binding it fails with EADDRINUSE.
    /// </summary>
    public static int NextFree(int start, ProcFs procfs)
    {
        var busy = procfs.ListeningSockets().Select(s => s.Port).ToHashSet();
        var port = start;
        while ((busy.Contains(port) || !CanBind(port)) && port < 65535) port++;
        return port;
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port)); // bound, never listening: nobody can connect to it
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
