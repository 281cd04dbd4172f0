using System.Net;
using System.Net.Sockets;
using Wand.Discovery;
using Wand.Injection;
using Wand.Progress;

namespace Wand.Transport.Local;

/// <summary>
/// The processes of one app on this machine, as a session sees them: the chosen process's family,
/// that is its topmost Python ancestor (a uvicorn/flask reloader, a gunicorn master) and everything
/// under it, so a reload worker that replaces the chosen one is found. debugpy listens on this
/// machine's loopback: no forward is needed, the session's proxy connects straight to it.
/// </summary>
public sealed class LocalRoute : ITargetRoute
{
    private readonly ProcFs _procfs;
    private readonly TimeProvider _time;
    private readonly IProgressReporter _progress;

    /// <param name="chosen">The process the user chose; its family is what the session follows.</param>
    public LocalRoute(int chosen, ProcFs procfs, TimeProvider time, IProgressReporter progress)
    {
        _procfs = procfs;
        _time = time;
        _progress = progress;
        Root = FamilyRoot(chosen, procfs);
        Runner = new PayloadRunner(procfs, time, progress);
    }

    /// <summary>The family's root: the chosen process, or its topmost ancestor that runs the same Python.</summary>
    public int Root { get; }

    public string Name => "local";

    public PayloadRunnerBase Runner { get; }

    public Task<IReadOnlyList<PythonProcess>> ScanAsync(CancellationToken cancellationToken)
    {
        var known = new Dictionary<int, bool>();
        return new PythonProcessScanner(_procfs, _time, _progress) { SampleInterval = TimeSpan.Zero }.ScanAsync(pid => InFamily(pid, known), cancellationToken);
    }

    public Task<bool> IsAliveAsync(int pid, CancellationToken cancellationToken) => Task.FromResult(_procfs.Exists(pid));

    public Task<IReadOnlySet<int>> BusyPortsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlySet<int>>(_procfs.ListeningSockets().Select(s => s.Port).ToHashSet());

    public async Task<Stream> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return client.GetStream();
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.Delay(timeout, _time, cancellationToken);

    public void PrepareConnect(int port)
    {
    }

    public int PidInside(int pid) => pid;

    /// <summary>
    /// Whether <paramref name="pid"/> descends from <see cref="Root"/>. <paramref name="known"/> holds the answer for every
    /// process already walked through in this scan, so each /proc/PID/stat is read once: walking every process up
    /// to PID 1 read the shared ancestors again each time (kthreadd 64 times, 364 reads for 139 processes).
    /// </summary>
    private bool InFamily(int pid, Dictionary<int, bool> known)
    {
        lock (known)
        {
            var walked = new List<int>();
            var answer = false;
            for (var p = pid; p > 1; p = _procfs.Stat(p)?.ParentPid ?? 0)
            {
                if (p == Root) { answer = true; break; }
                if (known.TryGetValue(p, out answer)) break;
                walked.Add(p);
            }
            foreach (var p in walked) known[p] = answer;
            return answer;
        }
    }

    /// <summary>Walks up while the parent runs the same interpreter binary (reloaders and masters re-run their own Python).</summary>
    internal static int FamilyRoot(int pid, ProcFs procfs)
    {
        var exe = procfs.ReadLink(pid, "exe");
        var root = pid;
        while (procfs.Stat(root)?.ParentPid is > 1 and var parent && exe is not null && procfs.ReadLink(parent, "exe") == exe) root = parent;
        return root;
    }
}
