using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Attacher;
using Wand.Injection.Ptrace;
using Wand.Progress;
using Wand.Transport.Local;

namespace Wand.Discovery;

/// <summary>
/// Finds the Python processes of this machine (including chroots and containers, whose processes
/// are visible in our /proc) and describes them for <c>wand ps</c>. Never runs the target: the
/// version comes from the mapped binary or the interpreter's memory. Processes may exit at any
/// moment; those that do are left out, never reported as errors.
/// </summary>
public sealed class PythonProcessScanner
{
    /// <summary>Time between the two /proc/PID/stat samples that CPU % is computed from.</summary>
    public static TimeSpan DefaultSampleInterval { get; } = TimeSpan.FromMilliseconds(200);

    private readonly ProcFs _procfs;
    private readonly TimeProvider _time;
    private readonly IProgressReporter _progress;
    private readonly Lazy<IReadOnlyDictionary<int, string>> _users;

    public PythonProcessScanner(ProcFs? procfs = null, TimeProvider? time = null, IProgressReporter? progress = null, string passwdPath = "/etc/passwd")
    {
        _procfs = procfs ?? ProcFs.Default;
        _time = time ?? TimeProvider.System;
        _progress = progress ?? NullProgress.Instance;
        // The host's names: a container's /etc/passwd may differ, but uids are what the kernel checks.
        _users = new(() => PasswdFile.Read(passwdPath));
    }

    public TimeSpan SampleInterval { get; init; } = DefaultSampleInterval;

    /// <summary>A process that holds a Python runtime, with its first stat sample.</summary>
    /// <param name="Binary">Null when /proc/PID/maps is not readable to us and the command line says Python.</param>
    private sealed record Candidate(int Pid, ProcStat Stat, long SampledAt, IReadOnlyList<string> CommandLine, PythonBinary? Binary, string? NameVersion);

    private sealed record Details(Candidate Candidate, int Uid, string? Version, Attachability Attach, string? Root, string? Cwd);

    /// <summary>All Python processes visible in /proc except our own (or those <paramref name="include"/> accepts), ordered by PID.</summary>
    public async Task<IReadOnlyList<PythonProcess>> ScanAsync(Func<int, bool>? include = null, CancellationToken cancellationToken = default)
    {
        _progress.Step("looking for Python processes in /proc");
        var self = Environment.ProcessId;
        var candidates = await Task.Run(() => _procfs.Pids().Where(pid => pid != self && (include is null || include(pid))).AsParallel().WithCancellation(cancellationToken)
            .Select(pid => Probe(pid, thorough: false)).OfType<Candidate>().ToList(), cancellationToken);
        return await DescribeAsync(candidates, context: [], cancellationToken);
    }

    /// <summary>
    /// One process, with its parent and children looked at to tell its role. Also finds embedders
    /// whose binaries have no "python" in their name (uWSGI).
    /// </summary>
    /// <exception cref="ProcessNotFoundException">No such process.</exception>
    /// <exception cref="NotPythonException">It holds no Python runtime.</exception>
    /// <exception cref="PermissionDeniedException">Its maps are unreadable and its command line does not say Python.</exception>
    public async Task<PythonProcess> GetAsync(int pid, CancellationToken cancellationToken = default)
    {
        if (!_procfs.Exists(pid)) throw new ProcessNotFoundException(pid);
        var target = Probe(pid, thorough: true) ?? throw NotPython(pid);
        var context = await Task.Run(() => _procfs.Pids().Where(p => p != pid).AsParallel().WithCancellation(cancellationToken)
            .Where(p => p == target.Stat.ParentPid || _procfs.Stat(p)?.ParentPid == pid)
            .Select(p => Probe(p, thorough: false)).OfType<Candidate>().ToList(), cancellationToken);
        var found = await DescribeAsync([target], context, cancellationToken);
        return found.SingleOrDefault(p => p.Pid == pid) ?? throw new ProcessNotFoundException(pid);
    }

    private Exception NotPython(int pid)
    {
        try
        {
            _procfs.Maps(pid); // throws PermissionDeniedException when we cannot tell
            return new NotPythonException(pid, $"no mapped file holds a Python runtime; command: {string.Join(' ', _procfs.CommandLine(pid)).Trim()}");
        }
        catch (WandException e)
        {
            return e;
        }
    }

    /// <summary>
    /// Decides cheaply whether <paramref name="pid"/> runs Python: kernel threads and zombies have no
    /// command line; the maps are read only for the others, and the ELF file only when a mapped
    /// file's name contains "python". Null when not Python or gone.
    /// </summary>
    private Candidate? Probe(int pid, bool thorough)
    {
        try
        {
            var stat = _procfs.Stat(pid);
            var sampledAt = _time.GetTimestamp();
            if (stat is null) return null;
            var argv = _procfs.CommandLine(pid);
            if (argv.Count == 0) return null;
            var nameVersion = NameVersion(argv, stat.Comm);
            try
            {
                if (!thorough && !_procfs.Maps(pid).Any(m => m.IsFile && m.FileName.Contains("python", StringComparison.OrdinalIgnoreCase)))
                    return null;
                return PythonBinaryLocator.Find(pid, _procfs, thorough) is { } binary
                    ? new Candidate(pid, stat, sampledAt, argv, binary, nameVersion)
                    : null;
            }
            catch (PermissionDeniedException)
            {
                // Reading maps needs ptrace read access (another user's process, without sudo). Its
                // command line is readable by all: believe it when it names an interpreter.
                return PythonCommandLine.IsInterpreterName(argv[0]) || stat.Comm.StartsWith("python", StringComparison.Ordinal)
                    ? new Candidate(pid, stat, sampledAt, argv, null, nameVersion)
                    : null;
            }
        }
        catch (Exception e) when (e is ProcessNotFoundException or TargetExitedException or IOException or UnauthorizedAccessException)
        {
            return null; // gone while we looked
        }
    }

    private static string? NameVersion(IReadOnlyList<string> argv, string comm) =>
        PythonBinaryLocator.VersionFromName(Path.GetFileName(argv[0])) ?? PythonBinaryLocator.VersionFromName(comm);

    private async Task<IReadOnlyList<PythonProcess>> DescribeAsync(IReadOnlyList<Candidate> candidates, IReadOnlyList<Candidate> context, CancellationToken cancellationToken)
    {
        if (candidates.Count == 0) return [];
        var details = await Task.Run(() => candidates.AsParallel().WithCancellation(cancellationToken)
            .Select(Inspect).OfType<Details>().ToList(), cancellationToken);

        // Second CPU sample: wait until the newest first sample is at least SampleInterval old.
        var newest = candidates.Max(c => c.SampledAt);
        var remaining = SampleInterval - _time.GetElapsedTime(newest);
        if (remaining > TimeSpan.Zero) await Task.Delay(remaining, _time, cancellationToken);
        var ticks = Libc.ClockTicksPerSecond;
        var uptime = _procfs.UptimeSeconds();

        var roles = RoleClassifier.Classify(RoleInputs(candidates.Concat(context).DistinctBy(c => c.Pid).ToList()));
        var result = new List<PythonProcess>();
        foreach (var d in details)
        {
            var c = d.Candidate;
            var now = _procfs.Stat(c.Pid);
            var elapsed = _time.GetElapsedTime(c.SampledAt);
            if (now is null || now.StartTicks != c.Stat.StartTicks) continue; // exited (or PID reused) meanwhile
            var role = roles.GetValueOrDefault(c.Pid) ?? new RoleAssignment(ProcessRole.Main, null);
            result.Add(new PythonProcess(c.Pid, now.ParentPid, d.Uid, UserName(d.Uid), d.Version, role.Role, role.Detail,
                ProcessMetrics.CpuPercent(c.Stat, now, elapsed, ticks), ProcessMetrics.RssBytes(now, Libc.PageSize),
                ProcessMetrics.Uptime(now, uptime, ticks), c.CommandLine, d.Root, d.Cwd, d.Attach));
        }
        return result.OrderBy(p => p.Pid).ToList();
    }

    /// <summary>The Python candidates, plus the command lines of their non-Python parents for context.</summary>
    private List<RoleInput> RoleInputs(IReadOnlyList<Candidate> candidates)
    {
        var inputs = candidates.Select(c => new RoleInput(c.Pid, c.Stat.ParentPid, c.CommandLine, true, EnvironmentMarkers(c.Pid))).ToList();
        var known = inputs.Select(i => i.Pid).ToHashSet();
        foreach (var ppid in candidates.Select(c => c.Stat.ParentPid).Where(p => p > 0 && !known.Contains(p)).Distinct())
            inputs.Add(new RoleInput(ppid, _procfs.Stat(ppid)?.ParentPid ?? 0, _procfs.CommandLine(ppid), IsPython: false));
        return inputs;
    }

    /// <summary>Which reloader variables are "true" in the process's environment; null when unreadable (another user's process).</summary>
    private HashSet<string>? EnvironmentMarkers(int pid)
    {
        if (_procfs.TryReadText(pid, "environ") is not { } environ) return null;
        var markers = new HashSet<string>();
        foreach (var entry in environ.Split('\0'))
            foreach (var name in RoleClassifier.ReloaderEnvironmentVariables)
                if (entry.Length == name.Length + 5 && entry.StartsWith(name, StringComparison.Ordinal) && entry.EndsWith("=true", StringComparison.Ordinal))
                    markers.Add(name);
        return markers;
    }

    private Details? Inspect(Candidate c)
    {
        if (_procfs.Status(c.Pid) is not { } status) return null;
        var attach = Attach(c, status.EffectiveUid, out var version);
        if (attach is null) return null;
        return new Details(c, status.EffectiveUid, version, attach, _procfs.ReadLink(c.Pid, "root"), _procfs.ReadLink(c.Pid, "cwd"));
    }

    /// <summary>
    /// Whether we could attach, checked in the order an attach would fail: the version in the file,
    /// then the interpreter state in memory (which needs ptrace permission), then the PEP 768 opt-out.
    /// Null when the process exited meanwhile.
    /// </summary>
    private Attachability? Attach(Candidate c, int uid, out string? version)
    {
        version = c.Binary?.Version?.ToString() ?? c.Binary?.VersionFromName ?? c.NameVersion;
        if (c.Binary is null)
        {
            if (IsBefore39(c.NameVersion)) return Unsupported(c.NameVersion!);
            return new(AttachState.PermissionDenied,
                $"cannot read /proc/{c.Pid}/maps: the process belongs to {UserName(uid)}; run wand as that user or with sudo");
        }
        if (ScriptInjectors.UsesPendingCall(c.Binary)) return AttachThroughPtrace(c, ref version);
        if (c.Binary.Version is { } fileVersion)
        {
            try
            {
                DebugOffsets.EnsureSupported(fileVersion);
            }
            catch (UnsupportedPythonException e)
            {
                return new(AttachState.UnsupportedVersion, e.Message);
            }
        }

        try
        {
            using var target = Pep768Target.Open(c.Pid, _procfs, _time, c.Binary);
            version = target.Offsets.Version.ToString();
            return target.RemoteDebuggingEnabled
                ? new(AttachState.Attachable, $"CPython {version} with remote debugging enabled")
                : new(AttachState.RemoteDebugDisabled, new RemoteDebugDisabledException(c.Pid).Message);
        }
        catch (Exception e) when (e is ProcessNotFoundException or TargetExitedException || !_procfs.Exists(c.Pid))
        {
            return null;
        }
        catch (PermissionDeniedException e)
        {
            return new(AttachState.PermissionDenied, e.Message);
        }
        catch (RemoteDebugDisabledException e)
        {
            return new(AttachState.RemoteDebugDisabled, e.Message);
        }
        catch (UnsupportedPythonException e)
        {
            return new(AttachState.UnsupportedVersion, e.Message);
        }
        catch (Exception e) when (e is WandException or MemoryAccessException or IOException)
        {
            return new(AttachState.Unknown, e.Message);
        }
    }

    /// <summary>
    /// 3.9-3.13 (PendingCallTarget): the interpreter must export the two functions, and ptrace must be
    /// allowed: reading the memory passes the same kernel check as attaching (PTRACE_MODE_ATTACH,
    /// Yama included), and a process has at most one tracer.
    /// </summary>
    private Attachability? AttachThroughPtrace(Candidate c, ref string? version)
    {
        if (c.Binary!.MajorMinor is { } v && v.CompareTo((3, 9)) < 0) return Unsupported($"{v.Major}.{v.Minor}");
        try
        {
            using var target = PendingCallTarget.Open(c.Pid, _procfs, _time, c.Binary);
            using (var memory = ProcessMemory.Open(c.Pid)) memory.ReadU8(c.Binary.RuntimeAddress);
            if (_procfs.Status(c.Pid) is not { } status) return null;
            if (status.TracerPid is not 0 and var tracer)
                return new(AttachState.AlreadyTraced, $"already traced by PID {tracer} ({_procfs.Stat(tracer)?.Comm ?? "?"}); a process can have only one tracer");
            version ??= c.Binary.MajorMinor is { } mm ? $"{mm.Major}.{mm.Minor}" : null;
            return new(AttachState.Attachable, $"CPython {version} through ptrace (Py_AddPendingCall)");
        }
        catch (Exception e) when (e is ProcessNotFoundException or TargetExitedException || !_procfs.Exists(c.Pid))
        {
            return null;
        }
        catch (PermissionDeniedException e)
        {
            return new(AttachState.PermissionDenied, e.Message);
        }
        catch (UnsupportedPythonException e)
        {
            return new(AttachState.UnsupportedVersion, e.Message);
        }
        catch (Exception e) when (e is WandException or MemoryAccessException or IOException or ElfFormatException)
        {
            return new(AttachState.Unknown, e.Message);
        }
    }

    private static Attachability Unsupported(string version) =>
        new(AttachState.UnsupportedVersion, $"Python {version} is too old; wand attaches to CPython 3.9 and newer");

    /// <summary>True for a "major.minor" older than 3.9; false for newer or unknown.</summary>
    private static bool IsBefore39(string? majorMinor) =>
        Version.TryParse(majorMinor, out var v) && (v.Major, v.Minor).CompareTo((3, 9)) < 0;

    private string UserName(int uid) => _users.Value.GetValueOrDefault(uid) ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
