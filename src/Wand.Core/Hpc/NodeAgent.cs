using System.Text.Json;
using System.Text.RegularExpressions;
using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Transport.Local;

namespace Wand.Hpc;

/// <summary>
/// What <c>rdg attach</c> does on the node (in a <c>srun --overlap</c> step of the job, or locally without
/// Slurm): list the user's Python processes of a job, and start the debugger in one of them: by
/// writing "activate" into the FIFO of a lite-armed launcher, or, for an unprepared Python 3.9+
/// process, by the same injection (PEP 768, or ptrace before 3.14) as <c>wand debug --pid</c>.
/// </summary>
public sealed partial class NodeAgent(ProcFs procfs, IProgressReporter progress)
{
    /// <summary>debugpy's import and listen() take about half a second; an uncompiled install several.</summary>
    public static readonly TimeSpan ActivationTimeout = TimeSpan.FromSeconds(60);

    [GeneratedRegex(@"/lite-(\d+)\.fifo$")]
    private static partial Regex LiteFifo();

    /// <summary>The user's Python processes, those of <paramref name="jobId"/> only when given (SLURM_JOB_ID in their environment).</summary>
    public async Task<IReadOnlyList<NodeProcess>> ListAsync(string? jobId, CancellationToken cancellationToken)
    {
        var uid = (int)Libc.geteuid();
        var scanner = new PythonProcessScanner(procfs, TimeProvider.System, progress);
        var all = await scanner.ScanAsync(pid => Belongs(pid, uid, jobId), cancellationToken);
        return [.. all.Where(p => !IsDebuggerHelper(p.CommandLine)).Select(Describe)];
    }

    public async Task<NodeProcess?> GetAsync(int pid, string? jobId, CancellationToken cancellationToken) =>
        (await ListAsync(jobId, cancellationToken)).FirstOrDefault(p => p.Pid == pid);

    /// <summary>Starts the debugger in <paramref name="process"/> and returns where it listens.</summary>
    public async Task<NodeEndpoint> ActivateAsync(NodeProcess process, string host, int? port, string? debugpyPath, CancellationToken cancellationToken)
    {
        if (process.Armed && FindFifo(process.Pid) is { } fifo) return await ActivateLiteAsync(process, fifo, cancellationToken);
        if (!process.ZeroPrep)
            throw new NotArmedException(process.Pid, process.Reason);
        var listenPort = port ?? ChoosePort();
        progress.Step($"PID {process.Pid} is not prepared: starting debugpy in it (Python {process.Version}, no preparation needed)");
        var injector = new DebugpyInjector(new PayloadRunner(procfs, TimeProvider.System, progress), DebugpyLocator.Default, progress);
        var endpoint = await injector.StartAsync(process.Pid, host, listenPort, debugpyPath, TimeSpan.FromSeconds(5), cancellationToken);
        return new NodeEndpoint(process.Pid, endpoint.Host, endpoint.Port, "zero-prep", endpoint.Target.Cwd, endpoint.Target.Python);
    }

    private async Task<NodeEndpoint> ActivateLiteAsync(NodeProcess process, string fifo, CancellationToken cancellationToken)
    {
        var status = fifo[..^".fifo".Length] + ".json";
        var existing = TryReadStatus(status);
        if (existing is null)
        {
            progress.Step($"activating the lite debugger of PID {process.Pid}");
            // The launcher holds the FIFO open for reading and writing, so this open never blocks.
            await using (var stream = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None))
                await stream.WriteAsync("activate\n"u8.ToArray(), cancellationToken);
        }
        var started = DateTime.UtcNow;
        while (true)
        {
            if (TryReadStatus(status) is { } result)
            {
                if (!result.RootElement.GetProperty("ok").GetBoolean())
                    throw new InjectionFailedException($"the lite debugger of PID {process.Pid} could not start: {result.RootElement.GetProperty("error").GetString()}", "see the job's output");
                return new NodeEndpoint(process.Pid, result.RootElement.GetProperty("host").GetString()!, result.RootElement.GetProperty("port").GetInt32(), "lite", process.Cwd, process.Version);
            }
            if (!procfs.Exists(process.Pid)) throw new TargetExitedException(process.Pid, "while its debugger was starting");
            if (DateTime.UtcNow - started > ActivationTimeout)
                throw new InjectionFailedException($"PID {process.Pid} did not start its debugger within {ActivationTimeout.TotalSeconds:0} s", "a C call that holds the GIL delays every thread; see the job's output");
            await Task.Delay(20, cancellationToken);
        }
    }

    private static JsonDocument? TryReadStatus(string path)
    {
        try
        {
            return File.Exists(path) ? JsonDocument.Parse(File.ReadAllBytes(path)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    private int ChoosePort() =>
        PortOwner.Find(RdgDefaults.Port, procfs) is null ? RdgDefaults.Port : PortOwner.NextFree(RdgDefaults.Port + 1, procfs);

    /// <summary>The lite FIFO the launcher keeps open, as this machine sees it (through /proc/PID/root).</summary>
    public string? FindFifo(int pid)
    {
        try
        {
            foreach (var fd in Directory.GetFiles(procfs.PathOf(pid, "fd")))
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && LiteFifo().Match(target) is { Success: true } m && m.Groups[1].Value == pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    return procfs.PathOf(pid, "root") + target;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    private NodeProcess Describe(PythonProcess p)
    {
        var armed = FindFifo(p.Pid) is not null;
        // A launcher's role is that of the program it runs; its argv shows the launcher file.
        var cmd = p.CommandLine.Select(a => a.EndsWith("/rdg_launcher.py", StringComparison.Ordinal) ? "(rdg)" : a).ToList();
        return new NodeProcess(p.Pid, p.Version, p.RoleDetail ?? p.Role.ToString().ToLowerInvariant(), armed, p.Attach.CanAttach, p.Attach.CanAttach ? null : p.Attach.Reason, p.Cwd, cmd);
    }

    private bool Belongs(int pid, int uid, string? jobId)
    {
        if (procfs.Status(pid) is not { } status || status.Uid != uid) return false;
        if (jobId is null) return true;
        var environ = procfs.TryReadText(pid, "environ");
        return environ is not null && environ.Split('\0').Contains($"SLURM_JOB_ID={jobId}");
    }

    /// <summary>debugpy's adapter and the like are Python processes too, but never what the user means.</summary>
    private static bool IsDebuggerHelper(IReadOnlyList<string> argv) =>
        argv.Contains("--for-server") || argv.Any(a => a.Contains("debugpy/adapter", StringComparison.Ordinal) || a.Contains("debugpy/launcher", StringComparison.Ordinal));
}
