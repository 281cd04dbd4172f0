using System.Net;
using System.Net.Sockets;
using Wand.Discovery;
using Wand.Injection;
using Wand.Progress;
using Wand.Transport.Local;

namespace Wand.Transport.Containers;

/// <summary>
/// The container's processes are visible and attachable from here (same kernel, permission): the
/// native attacher works through /proc/PID/root and debugpy is reached by entering the container's
/// network namespace. PIDs are this machine's.
/// </summary>
public sealed class HostContainerRoute(ContainerInfo container, ProcFs procfs, TimeProvider time, IProgressReporter progress) : IContainerRoute
{
    private int _initPid = container.HostPid;

    public string Name => "host";

    public PayloadRunnerBase Runner { get; } = new PayloadRunner(procfs, time, progress);

    /// <summary>How long CPU use is sampled when scanning: zero (no CPU %) for a session's frequent scans.</summary>
    public TimeSpan CpuSampleInterval { get; init; } = TimeSpan.Zero;

    public async Task<IReadOnlyList<PythonProcess>> ScanAsync(CancellationToken cancellationToken) =>
        await new PythonProcessScanner(procfs, time, progress) { SampleInterval = CpuSampleInterval }
            .ScanAsync(ContainerProcesses.Filter(_initPid, procfs), cancellationToken);

    public Task<bool> IsAliveAsync(int pid, CancellationToken cancellationToken) => Task.FromResult(procfs.Exists(pid));

    public Task<IReadOnlySet<int>> BusyPortsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlySet<int>>(procfs.ListeningSockets(_initPid).Select(s => s.Port).ToHashSet());

    public async Task<Stream> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var socket = NetworkNamespace.CreateSocketIn(_initPid);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.Delay(timeout, time, cancellationToken);

    public void PrepareConnect(int port)
    {
        // connections are made when the editor connects
    }

    public int PidInside(int pid) => ContainerProcesses.PidInside(pid, procfs);

    public void Restarted(ContainerInfo restarted) => _initPid = restarted.HostPid;
}
