using System.Diagnostics;
using System.Runtime.InteropServices;
using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Injection.Ptrace;
using Wand.Stacks.Exec;
using Wand.Transport.Exec;
using Wand.Transport.Local;

namespace Wand.Stacks;

/// <summary>
/// <c>wand stacks</c> for a local PID: finds the runtime (as the PEP 768 attacher does), reads the
/// Python stacks from memory and adds each thread's name and native state from /proc. Nothing runs in
/// the target and nothing pauses it; the only access is reading its memory and /proc files, unless
/// <c>consistent</c> asks to stop every thread for the read.
/// </summary>
public static class StackCapture
{
    /// <summary>How long one thread may take to stop for <c>--consistent</c>.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

    /// <param name="consistent">
    /// Stop every thread (PTRACE_SEIZE + PTRACE_INTERRUPT: invisible to the target's parent, unlike
    /// SIGSTOP) while the interpreter state is read, so no frame changes under the read; the result
    /// says how long. What each thread does in the kernel is read before they are stopped.
    /// </param>
    public static ProcessStacks Capture(int pid, bool withLocals, ProcFs? procfs = null, bool consistent = false)
    {
        procfs ??= ProcFs.Default;
        PythonBinary binary;
        try
        {
            binary = PythonBinaryLocator.FindOrThrow(pid, procfs);
        }
        catch (NotPythonException) when (Exiting(pid, procfs))
        {
            throw Exited(pid); // a dying process's maps are already empty: it is not "not Python"
        }
        if (binary.Version is { } fileVersion) StackOffsets.EnsureSupported(fileVersion);
        IReadOnlyList<PythonThread> threads;
        string version;
        // Stopped threads show ptrace_stop in the kernel: what they were doing is read first.
        var natives = consistent ? procfs.ThreadIds(pid).ToDictionary(tid => tid, tid => Native(tid, relative => procfs.TryReadText(pid, relative))) : null;
        TimeSpan? stoppedFor = null;
        using (var memory = ProcessMemory.Open(pid))
        {
            var stopped = consistent ? StopAll(pid, procfs) : [];
            var since = Stopwatch.GetTimestamp();
            try
            {
                var offsets = Offsets(memory, binary);
                version = offsets.VersionText;
                threads = new PythonStackReader(memory, offsets).Read(binary.RuntimeAddress, withLocals);
            }
            catch (MemoryAccessException e)
            {
                throw procfs.Exists(pid)
                    ? new StackReadException($"reading the interpreter state of PID {pid} failed: {e.Message}", e)
                    : Exited(pid);
            }
            catch (StackReadException) when (!procfs.Exists(pid))
            {
                throw Exited(pid);
            }
            finally
            {
                foreach (var session in stopped) session.Dispose();
                if (consistent) stoppedFor = Stopwatch.GetElapsedTime(since);
            }
        }
        var stacks = Combine(pid, version, threads, procfs, natives) with { StoppedFor = stoppedFor };
        // Frames of a process that died under the read are "changed while reading" noise: say it exited.
        if (!procfs.Exists(pid)) throw Exited(pid);
        return stacks;
    }

    /// <summary>
    /// The target's offsets: its _Py_DebugOffsets table (3.13+), or the layout of its minor version
    /// (3.9-3.12, which have none), known from Py_Version (3.11+) or the binary's name.
    /// </summary>
    public static StackOffsets Offsets(IProcessMemory memory, PythonBinary binary)
    {
        if (binary.MajorMinor is (3, < 13) and var (_, minor)) return StackOffsets.ForLegacy(minor, binary.Version, binary.VersionFromName);
        var table = new byte[StackOffsets.MaxTableSize];
        memory.Read(binary.RuntimeAddress, table);
        if (!DebugOffsets.HasCookie(table)) throw StackOffsets.Unsupported(binary.VersionFromName);
        return StackOffsets.Parse(table);
    }

    /// <summary>
    /// The Python frames of one thread (by kernel TID as the target sees it), read through an already
    /// open memory handle; null when they cannot be read. For error messages: it never throws.
    /// </summary>
    public static IReadOnlyList<StackFrame>? TryReadThread(IProcessMemory memory, ulong runtimeAddress, int nativeThreadId) =>
        TryReadThread(memory, runtimeAddress, nativeThreadId, () =>
        {
            var table = new byte[StackOffsets.MaxTableSize];
            memory.Read(runtimeAddress, table);
            return StackOffsets.Parse(table);
        });

    /// <summary>
    /// The Python frames of thread <paramref name="tid"/> (a host TID) of <paramref name="pid"/>, any
    /// version wand reads (3.9-3.12 through their layouts): for the ptrace route's withdraw error, which
    /// holds no memory handle. Null when they cannot be read; it never throws.
    /// </summary>
    public static IReadOnlyList<StackFrame>? TryReadThread(int pid, PythonBinary binary, int tid, ProcFs procfs)
    {
        try
        {
            using var memory = ProcessMemory.Open(pid);
            // native_thread_id is the TID in the target's own PID namespace: the last of the task's NSpid.
            var nativeId = procfs.TryReadText(pid, $"task/{tid}/status") is { } status && ProcStatus.Parse(status) is { NamespacePids.Count: > 0 } parsed
                ? parsed.NamespacePids[^1]
                : tid;
            return TryReadThread(memory, binary.RuntimeAddress, nativeId, () => Offsets(memory, binary));
        }
        catch (Exception e) when (e is WandException or MemoryAccessException)
        {
            return null;
        }
    }

    private static IReadOnlyList<StackFrame>? TryReadThread(IProcessMemory memory, ulong runtimeAddress, int nativeThreadId, Func<StackOffsets> offsets)
    {
        try
        {
            return new PythonStackReader(memory, offsets()).Read(runtimeAddress, withLocals: false)
                .FirstOrDefault(t => t.NativeId == nativeThreadId)?.Frames;
        }
        catch (Exception e) when (e is WandException or MemoryAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Seizes and stops every thread; threads started meanwhile are caught by looking again until
    /// every thread of /proc/PID/task is held (a held thread starts no new ones).
    /// </summary>
    private static List<PtraceSession> StopAll(int pid, ProcFs procfs)
    {
        var sessions = new List<PtraceSession>();
        try
        {
            var held = new HashSet<int>();
            while (procfs.ThreadIds(pid).Where(t => !held.Contains(t)).ToList() is { Count: > 0 } fresh)
            {
                foreach (var tid in fresh)
                {
                    try
                    {
                        sessions.Add(PtraceSession.Attach(pid, tid, PtraceArchitecture.Current, procfs, StopTimeout));
                    }
                    catch (WandException) when (procfs.Exists(pid) && !Directory.Exists(procfs.PathOf(pid, $"task/{tid}")))
                    {
                        // the thread ended between the listing and the seize
                    }
                    held.Add(tid);
                }
            }
            return sessions;
        }
        catch
        {
            foreach (var session in sessions) session.Dispose();
            throw;
        }
    }

    /// <summary>Gone, or a zombie whose memory is already released (state Z or X).</summary>
    private static bool Exiting(int pid, ProcFs procfs) => procfs.Stat(pid) is not { } stat || stat.State is 'Z' or 'X';

    private static TargetExitedException Exited(int pid) => new(pid, "while wand was reading its stacks");

    /// <summary>Joins the Python threads with the OS threads of /proc/PID/task.</summary>
    internal static ProcessStacks Combine(int pid, string version, IReadOnlyList<PythonThread> python, ProcFs procfs,
        IReadOnlyDictionary<int, NativeActivity>? natives = null) =>
        Combine(pid, version, python, procfs.ThreadIds(pid), relative => procfs.TryReadText(pid, relative), natives);

    /// <summary>
    /// Joins the Python threads with the OS threads <paramref name="tids"/>, whose /proc files
    /// (comm, status, task/TID/comm, syscall, wchan, status) <paramref name="text"/> reads.
    /// </summary>
    internal static ProcessStacks Combine(int pid, string version, IReadOnlyList<PythonThread> python, IReadOnlyList<int> tids,
        Func<string, string?> text, IReadOnlyDictionary<int, NativeActivity>? natives = null)
    {
        var hostTid = NamespaceToHostTids(tids, text);
        var processName = text("comm")?.TrimEnd('\n');
        var result = new List<ThreadStack>();
        var covered = new HashSet<int>();
        foreach (var thread in python)
        {
            var tid = hostTid.TryGetValue(thread.NativeId, out var host) ? host : thread.NativeId;
            covered.Add(tid);
            result.Add(Describe(pid, tid, processName, thread, text, natives));
        }
        foreach (var tid in tids.Where(t => !covered.Contains(t)))
            result.Add(Describe(pid, tid, processName, null, text, natives));
        return new ProcessStacks(pid, version, result);
    }

    private static ThreadStack Describe(int pid, int tid, string? processName, PythonThread? python, Func<string, string?> text, IReadOnlyDictionary<int, NativeActivity>? natives)
    {
        var name = text($"task/{tid}/comm")?.TrimEnd('\n');
        var source = name is null ? ThreadNameSource.None
            : tid == pid || name == processName ? ThreadNameSource.Process
            : ThreadNameSource.Thread;
        var native = natives?.GetValueOrDefault(tid) ?? Native(tid, text);
        return new ThreadStack(tid, name, source, native, python);
    }

    private static NativeActivity Native(int tid, Func<string, string?> text) =>
        NativeActivity.Parse(text($"task/{tid}/syscall"), text($"task/{tid}/wchan"), RuntimeInformation.OSArchitecture);

    /// <summary>
    /// native_thread_id is the TID in the target's own PID namespace (a container's); /proc/PID/task on
    /// the host is keyed by host TIDs. Each task's status NSpid lists its TID outermost first.
    /// </summary>
    private static Dictionary<int, int> NamespaceToHostTids(IReadOnlyList<int> tids, Func<string, string?> text)
    {
        var map = new Dictionary<int, int>();
        if (text("status") is not { } own || ProcStatus.Parse(own) is not { NamespacePids.Count: > 1 }) return map;
        foreach (var tid in tids)
            if (text($"task/{tid}/status") is { } status && ProcStatus.Parse(status) is { NamespacePids.Count: > 1 } parsed)
                map[parsed.NamespacePids[^1]] = tid;
        return map;
    }

    /// <summary>
    /// <c>wand stacks</c> through a container's exec (<c>podman exec -i</c>): the container's own
    /// interpreter runs stacks_agent.py, which serves the bytes of the target's memory and files that
    /// this reader asks for, and its /proc files. <paramref name="pid"/> is the PID inside.
    /// </summary>
    public static ProcessStacks CaptureThroughExec(IExecTarget target, int pid, bool withLocals)
    {
        using var server = ExecMemoryServer.Start(target, pid);
        var snapshot = server.Snapshot;
        var maps = ProcMapsEntry.ParseAll(snapshot.GetProperty("maps").GetString() ?? "");
        PythonBinary? binary = null;
        foreach (var mapping in PythonBinaryLocator.Candidates(maps))
        {
            using var file = ExecFileStream.Open(server, mapping.Path);
            if (file is null) continue;
            try
            {
                binary = PythonBinaryLocator.FromElf(file, mapping, mapping.Path);
            }
            catch (Exception e) when (e is IOException or ElfFormatException)
            {
                // not an ELF file wand can read: try the next
            }
            if (binary is not null) break;
        }
        if (binary is null) throw new NotPythonException(pid, $"no mapped file holds a Python runtime in {target.Description}");
        if (binary.Version is { } fileVersion) StackOffsets.EnsureSupported(fileVersion);
        using var memory = new ExecProcessMemory(server);
        StackOffsets offsets;
        IReadOnlyList<PythonThread> threads;
        try
        {
            offsets = Offsets(memory, binary);
            threads = new PythonStackReader(memory, offsets).Read(binary.RuntimeAddress, withLocals);
        }
        catch (MemoryAccessException e)
        {
            throw new StackReadException($"reading the interpreter state of PID {pid} in {target.Description} failed: {e.Message}", e);
        }
        var tasks = snapshot.GetProperty("tasks");
        var tids = tasks.EnumerateObject().Select(t => int.Parse(t.Name, System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        return Combine(pid, offsets.VersionText, threads, tids, relative => relative.Split('/') switch
        {
            [var file] => snapshot.TryGetProperty(file, out var v) ? v.GetString() : null,
            ["task", var tid, var file] => tasks.TryGetProperty(tid, out var task) && task.TryGetProperty(file, out var v) ? v.GetString() : null,
            _ => null,
        });
    }
}
