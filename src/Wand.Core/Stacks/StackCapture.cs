using System.Diagnostics;
using System.Runtime.InteropServices;
using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Injection.Ptrace;
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
        var natives = consistent ? procfs.ThreadIds(pid).ToDictionary(tid => tid, tid => Native(pid, tid, procfs)) : null;
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
    public static IReadOnlyList<StackFrame>? TryReadThread(IProcessMemory memory, ulong runtimeAddress, int nativeThreadId)
    {
        try
        {
            var table = new byte[StackOffsets.MaxTableSize];
            memory.Read(runtimeAddress, table);
            var offsets = StackOffsets.Parse(table);
            return new PythonStackReader(memory, offsets).Read(runtimeAddress, withLocals: false)
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
        IReadOnlyDictionary<int, NativeActivity>? natives = null)
    {
        var tids = procfs.ThreadIds(pid);
        var hostTid = NamespaceToHostTids(pid, tids, procfs);
        var processName = procfs.TryReadText(pid, "comm")?.TrimEnd('\n');
        var result = new List<ThreadStack>();
        var covered = new HashSet<int>();
        foreach (var thread in python)
        {
            var tid = hostTid.TryGetValue(thread.NativeId, out var host) ? host : thread.NativeId;
            covered.Add(tid);
            result.Add(Describe(pid, tid, processName, thread, procfs, natives));
        }
        foreach (var tid in tids.Where(t => !covered.Contains(t)))
            result.Add(Describe(pid, tid, processName, null, procfs, natives));
        return new ProcessStacks(pid, version, result);
    }

    private static ThreadStack Describe(int pid, int tid, string? processName, PythonThread? python, ProcFs procfs, IReadOnlyDictionary<int, NativeActivity>? natives)
    {
        var name = procfs.TryReadText(pid, $"task/{tid}/comm")?.TrimEnd('\n');
        var source = name is null ? ThreadNameSource.None
            : tid == pid || name == processName ? ThreadNameSource.Process
            : ThreadNameSource.Thread;
        var native = natives?.GetValueOrDefault(tid) ?? Native(pid, tid, procfs);
        return new ThreadStack(tid, name, source, native, python);
    }

    private static NativeActivity Native(int pid, int tid, ProcFs procfs) =>
        NativeActivity.Parse(procfs.TryReadText(pid, $"task/{tid}/syscall"), procfs.TryReadText(pid, $"task/{tid}/wchan"), RuntimeInformation.OSArchitecture);

    /// <summary>
    /// native_thread_id is the TID in the target's own PID namespace (a container's); /proc/PID/task on
    /// the host is keyed by host TIDs. Each task's status NSpid lists its TID outermost first.
    /// </summary>
    private static Dictionary<int, int> NamespaceToHostTids(int pid, IReadOnlyList<int> tids, ProcFs procfs)
    {
        var map = new Dictionary<int, int>();
        if (procfs.Status(pid) is not { NamespacePids.Count: > 1 }) return map;
        foreach (var tid in tids)
            if (procfs.TryReadText(pid, $"task/{tid}/status") is { } text && ProcStatus.Parse(text) is { NamespacePids.Count: > 1 } status)
                map[status.NamespacePids[^1]] = tid;
        return map;
    }
}
