using System.Text.Json;
using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Attacher;
using Wand.Injection.Payloads;
using Wand.Transport.Containers;
using Wand.Transport.Local;

namespace Wand.Transport.Exec;

/// <summary>
/// The container's processes are reached through an exec with the target's own interpreter
/// (<see cref="ExecPayloadRunner"/>): /proc is read inside the container by agent.py and
/// parsed here by the same pure parsers as on the host; editor connections travel through relay.py.
/// PIDs are the container's own.
/// </summary>
/// <param name="watcher">An in-container process watcher (agent.py watch) whose listings replace the exec per poll while it runs; null: poll through exec.</param>
public sealed class ExecRoute(ExecPayloadRunner runner, ExecWatcher? watcher = null, TimeProvider? time = null) : IContainerRoute
{
    /// <summary>Interpreters to start the agent with before any Python process is known (never a program that is not Python).</summary>
    private static readonly string[] InterpreterCandidates = ["/usr/local/bin/python3", "/usr/bin/python3"];

    private string? _interpreter;
    private JsonElement? _lastListing;

    /// <summary>The interpreter agent.py runs with inside, once the first listing found one.</summary>
    public string? Interpreter => _interpreter ?? _firstCandidate;

    /// <summary>The interpreter tried first, before one is known: the watcher starts with it alongside the first listing.</summary>
    private string? _firstCandidate;

    public string Name => "exec";
    public PayloadRunnerBase Runner => runner;

    public async Task<IReadOnlyList<PythonProcess>> ScanAsync(CancellationToken cancellationToken)
    {
        var listing = Watched() ?? await ListAsync(cancellationToken);
        var uptime = double.Parse(listing.GetProperty("uptime").GetString()!.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var ticks = listing.GetProperty("clk_tck").GetInt64();
        // With a pod's shareProcessNamespace every container sees the others' processes: agent.py tells which are this container's.
        var raw = listing.GetProperty("processes").EnumerateArray()
            .Where(p => !p.TryGetProperty("own", out var own) || own.ValueKind != JsonValueKind.False)
            .Select(p => (Json: p, Stat: ProcStat.Parse(p.GetProperty("stat").GetString() ?? ""), Status: ProcStatus.Parse(p.GetProperty("status").GetString() ?? ""),
                Cmd: p.GetProperty("cmdline").EnumerateArray().Select(a => a.GetString() ?? "").ToList(),
                Version: p.GetProperty("python_files").EnumerateArray().Select(f => PythonBinaryLocator.VersionFromName(Path.GetFileName(f.GetString() ?? ""))).FirstOrDefault(v => v is not null),
                Denied: p.TryGetProperty("denied", out var d) && d.GetBoolean()))
            .Where(p => p.Stat is not null && p.Status is not null)
            .ToList();
        // Older listings (an agent of an older wand in a watcher) say nothing of the machine.
        var machine = listing.TryGetProperty("machine", out var m) ? m.GetString() : null;
        var roles = RoleClassifier.Classify(raw.Select(p => new RoleInput(p.Stat!.Pid, p.Stat.ParentPid, p.Cmd, p.Version is not null)).ToList());
        // A process whose maps the kernel hides is listed when its program is named python (version from the name, else "?").
        return raw.Where(p => p.Version is not null || (p.Denied && p.Cmd.Count > 0 && Path.GetFileName(p.Cmd[0]).Contains("python", StringComparison.Ordinal))).Select(p =>
        {
            var role = roles.TryGetValue(p.Stat!.Pid, out var r) ? r : new RoleAssignment(ProcessRole.Main, null);
            return new PythonProcess(p.Stat.Pid, p.Stat.ParentPid, p.Status!.Uid, p.Status.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Version,
                role.Role, role.Detail, 0, ProcessMetrics.RssBytes(p.Stat, Environment.SystemPageSize), ProcessMetrics.Uptime(p.Stat, uptime, ticks), p.Cmd, null, null,
                p.Denied ? new Attachability(AttachState.PermissionDenied, "the kernel refuses access to its memory (another user, and no CAP_SYS_PTRACE)") : Attachability(p.Version!, machine));
        }).ToList();
    }

    public async Task<bool> IsAliveAsync(int pid, CancellationToken cancellationToken) =>
        (Watched() ?? await ListAsync(cancellationToken)).GetProperty("processes").EnumerateArray().Any(p => p.GetProperty("pid").GetInt32() == pid);

    public async Task<IReadOnlySet<int>> BusyPortsAsync(CancellationToken cancellationToken)
    {
        var listing = Watched() ?? _lastListing ?? await ListAsync(cancellationToken);
        return ListeningSocket.ParseAll(listing.GetProperty("tcp").GetString() ?? "").Select(s => s.Port).ToHashSet();
    }

    public Task<Stream> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var target = runner.Target;
        Stream stream = ProcessStream.Start(target.Program,
            target.ExecArguments([_interpreter ?? throw new InvalidOperationException("scan first"), "-I", "-S", "-c", Payload.Read(Payload.Relay), port.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
        return Task.FromResult(stream);
    }

    /// <summary>With a running watcher: as soon as processes change; else after <paramref name="timeout"/> (the caller polls).</summary>
    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        watcher is { Latest: not null } ? watcher.ChangedAsync(timeout, cancellationToken) : Task.Delay(timeout, time ?? TimeProvider.System, cancellationToken);

    /// <summary>The watcher's latest listing while it runs (and remembered as the last one); else null.</summary>
    private JsonElement? Watched()
    {
        if (watcher?.Latest is not { } latest) return null;
        _lastListing = latest;
        return latest;
    }

    public void PrepareConnect(int port)
    {
        // connections are made when the editor connects
    }

    public int PidInside(int pid) => pid;

    public void Restarted(ContainerInfo container) => _interpreter = null;

    /// <summary>3.14+ through sys.remote_exec; 3.9-3.13 through ptrace by the agent (agent_ptrace.py), x86-64 only for now.</summary>
    internal static Attachability Attachability(string version, string? machine)
    {
        var parts = version.Split('.');
        var v = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 100 + int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        return v switch
        {
            >= 314 => new Attachability(AttachState.Attachable, $"Python {version} (through the container runtime)"),
            < 309 => new Attachability(AttachState.UnsupportedVersion, $"the target runs Python {version}; wand attaches to CPython 3.9 and newer"),
            _ when machine is not (null or "x86_64") => new Attachability(AttachState.UnsupportedVersion,
                $"the target runs Python {version} on {machine}; attaching to CPython 3.9-3.13 is not supported yet there (only x86-64), 3.14+ is"),
            _ => new Attachability(AttachState.Attachable, $"Python {version} (through the container runtime, with ptrace inside)"),
        };
    }

    /// <summary>Runs agent.py's ps with a known interpreter; the first time, finds one that is surely Python.</summary>
    private async Task<JsonElement> ListAsync(CancellationToken cancellationToken)
    {
        var target = runner.Target;
        var candidates = _interpreter is not null ? [_interpreter]
            : Path.GetFileName(target.EntryPath).Contains("python", StringComparison.Ordinal) ? ["/proc/1/exe", .. InterpreterCandidates] : InterpreterCandidates;
        var failures = new List<string>();
        if (_interpreter is null && watcher is not null && candidates[0] == "/proc/1/exe")
        {
            // PID 1 is Python: the watcher starts with it now and its first listing is this one (one exec
            // fewer); it then carries the injection that follows. If it fails, list through an exec.
            _firstCandidate = candidates[0];
            watcher.Start();
            if (await watcher.FirstListingAsync(TimeSpan.FromSeconds(20), cancellationToken) is { } first)
            {
                _interpreter = candidates[0];
                _lastListing = first;
                return first;
            }
        }
        foreach (var interpreter in candidates)
        {
            try
            {
                var listing = await runner.RunAgentAsync(interpreter, new System.Text.Json.Nodes.JsonObject { ["op"] = "ps" }, cancellationToken);
                _interpreter = interpreter;
                _lastListing = listing;
                watcher?.Start();
                return listing;
            }
            catch (InjectionFailedException e)
            {
                failures.Add($"{interpreter}: {e.Message}");
            }
        }
        throw new WandException(ExitCodes.ProcessNotFound, $"found no Python interpreter to work with inside {target.Description} ({string.Join("; ", failures)})",
            "the exec route needs the container's main process to be Python, or python3 at /usr/bin or /usr/local/bin");
    }
}
