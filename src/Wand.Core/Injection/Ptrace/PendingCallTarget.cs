using System.Globalization;
using System.Text;
using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Injection.Payloads;
using Wand.Transport.Local;

namespace Wand.Injection.Ptrace;

/// <summary>
/// A CPython 3.9-3.13 process reached without PEP 768 (PTRACE.md): one thread is stopped with ptrace
/// just long enough to map a page, write a bootstrap there and call
/// <c>Py_AddPendingCall(PyRun_SimpleString, page)</c>; then it is put back as it was. The interpreter
/// runs the bootstrap on its main thread at the next eval-breaker check, the same safe point as
/// PEP 768, and the bootstrap runs wand's script if wand has not withdrawn it meanwhile.
/// </summary>
/// <remarks>
/// The page: it must stay valid until the pending call has run, which may be long after wand has
/// gone (a withdrawn request stays queued), so wand cannot unmap it itself. The bootstrap unmaps it
/// (pending_call.py, with the reason that is safe). A request that is withdrawn and never runs, or a
/// target without ctypes, keeps one page: the price of never pulling memory from under a queued call.
/// </remarks>
public sealed class PendingCallTarget : IScriptInjector
{
    public const string AddPendingCall = "Py_AddPendingCall";
    public const string RunSimpleString = "PyRun_SimpleString";

    /// <summary>Py_AddPendingCall takes a lock the interrupted code may hold; past this the call is abandoned.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);

    private readonly ProcFs _procfs;
    private readonly TimeProvider _time;
    private readonly PtraceArchitecture _arch;

    private PendingCallTarget(int pid, ProcFs procfs, TimeProvider time, PtraceArchitecture arch, PythonBinary binary, ulong addPendingCall, ulong runSimpleString)
    {
        Pid = pid;
        _procfs = procfs;
        _time = time;
        _arch = arch;
        Binary = binary;
        AddPendingCallAddress = addPendingCall;
        RunSimpleStringAddress = runSimpleString;
    }

    public int Pid { get; }
    public PythonBinary Binary { get; }
    public ulong AddPendingCallAddress { get; }
    public ulong RunSimpleStringAddress { get; }

    public string Description => $"Python {Binary.Version?.ToString() ?? Binary.VersionFromName ?? "3.9-3.13"}, through ptrace";

    /// <summary>Finds the two exported functions in the file that holds the runtime (the executable or libpython).</summary>
    public static PendingCallTarget Open(int pid, ProcFs procfs, TimeProvider time, PythonBinary binary)
    {
        if (binary.MajorMinor is { } v && v.CompareTo((3, 9)) < 0)
            throw new UnsupportedPythonException($"the target runs Python {v.Major}.{v.Minor}; wand attaches to CPython 3.9 and newer",
                null, new Remedy(RemedyKind.StartUnderLauncher));
        var arch = PtraceArchitecture.Current;
        var (add, run) = FindFunctions(binary.OpenedPath);
        if (add is null || run is null)
            throw new UnsupportedPythonException(
                $"{binary.MappedPath} in PID {pid} does not export {(add is null ? AddPendingCall : RunSimpleString)} (a build without exported symbols?)",
                "use an interpreter built with its C API exported (every distribution's python3.X and libpython3.X.so are)", new Remedy(RemedyKind.StartUnderLauncher));
        return new PendingCallTarget(pid, procfs, time, arch, binary, add.Value + binary.LoadBias, run.Value + binary.LoadBias);
    }

    /// <summary>The two functions' file addresses, from .dynsym only: a guess from elsewhere is never used.</summary>
    public static (ulong? AddPendingCall, ulong? RunSimpleString) FindFunctions(string elfPath)
    {
        using var stream = new FileStream(elfPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096);
        var elf = ElfImage.Read(stream);
        return (elf.FindSymbol(AddPendingCall, exportedOnly: true), elf.FindSymbol(RunSimpleString, exportedOnly: true));
    }

    public async Task InjectAsync(TargetWorkDir dir, string scriptName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // ptrace requests must all come from the thread that attached: one dedicated thread, start to end.
        await Task.Factory.StartNew(() => Queue(dir.TargetPath, scriptName, timeout), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var script = dir.HostFile(scriptName);
        var queued = _time.GetTimestamp();
        while (File.Exists(script))
        {
            if (_procfs.Stat(Pid) is null or { State: 'Z' or 'X' }) throw new TargetExitedException(Pid, "before it ran wand's code");
            if (_time.GetElapsedTime(queued) > timeout || cancellationToken.IsCancellationRequested)
            {
                if (Withdraw(script))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    throw new SafePointTimeoutException(Pid, Pid, timeout, _procfs.WaitChannel(Pid, Pid), Stacks.StackCapture.TryReadThread(Pid, Binary, Pid, _procfs), IsUwsgi());
                }
                break; // the bootstrap claimed it in the meantime: it runs
            }
            await Task.Delay(1, CancellationToken.None);
        }
    }

    private bool IsUwsgi() =>
        _procfs.CommandLine(Pid) is [var argv0, ..] && Path.GetFileName(argv0).StartsWith("uwsgi", StringComparison.Ordinal);

    /// <summary>Renames the script away; false when the bootstrap's own rename came first.</summary>
    private static bool Withdraw(string script)
    {
        try
        {
            File.Move(script, script + ".withdrawn");
            return true;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The statement PyRun_SimpleString runs: the bootstrap, hex-encoded, as is the folder, so no path can break out of a literal.</summary>
    public static string Bootstrap(string dirInTarget, string scriptName, ulong page, ulong pageSize) =>
        Bootstrap(Convert.ToHexString(Encoding.UTF8.GetBytes(dirInTarget)), scriptName, page.ToString(CultureInfo.InvariantCulture), pageSize.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// <see cref="Bootstrap(string, string, ulong, ulong)"/> for agent_ptrace.py, which fills it in the
    /// container with Python's <c>%</c>: the folder's UTF-8 in hex, the script's name, the page, its size.
    /// </summary>
    public static string BootstrapTemplate => Bootstrap("%s", "%s", "%d", "%d");

    private static string Bootstrap(string dirHex, string scriptName, string page, string pageSize) =>
        "exec(bytes.fromhex(\"" + Convert.ToHexString(Encoding.UTF8.GetBytes(Payload.Read("pending_call.py"))) + "\").decode(), " +
        $"{{\"_WAND_DIR\": bytes.fromhex(\"{dirHex}\").decode(), \"_WAND_SCRIPT\": \"{scriptName}\", \"_WAND_PAGE\": {page}, \"_WAND_PAGE_SIZE\": {pageSize}}})\n";

    private void Queue(string dirInTarget, string scriptName, TimeSpan timeout)
    {
        var pageSize = (ulong)Environment.SystemPageSize;
        var length = (ulong)Encoding.UTF8.GetByteCount(Bootstrap(dirInTarget, scriptName, ulong.MaxValue, ulong.MaxValue)) + 1;
        var size = (length + pageSize - 1) / pageSize * pageSize;

        using var memory = ProcessMemory.Open(Pid);
        // The main thread: any thread would do (Py_AddPendingCall may be called from any thread
        // without the GIL), and it is the one that runs the call anyway.
        var session = PtraceSession.Attach(Pid, Pid, _arch, _procfs, timeout);
        try
        {
            QueueHeld(session, memory, dirInTarget, scriptName, size);
        }
        catch (Exception e)
        {
            session.Release(cause: e); // a thread that could not be put back outweighs the failure that got us here
            throw;
        }
        session.Release();
    }

    private void QueueHeld(PtraceSession session, IProcessMemory memory, string dirInTarget, string scriptName, ulong size)
    {
        var syscall = FindSyscallInstruction(_arch, _procfs, Pid, memory, session.Saved);
        const ulong ProtReadWrite = 3, MapPrivateAnonymous = 0x22;
        var page = session.Syscall(syscall, _arch.MmapNumber, CallTimeout, 0, size, ProtReadWrite, MapPrivateAnonymous, ulong.MaxValue, 0);
        if (page is < 0 and > -4096)
            throw new InjectionFailedException($"mmap of {size} bytes in PID {Pid} failed (errno {-page})", "the process may be out of memory or address space; retry");

        memory.Write((ulong)page, Encoding.UTF8.GetBytes(Bootstrap(dirInTarget, scriptName, (ulong)page, size) + "\0"));
        // Return into the page: it is not executable, so the return faults right there, and that
        // SIGSEGV (never delivered) tells us the call is done.
        var result = session.Call(memory, AddPendingCallAddress, (ulong)page, CallTimeout, RunSimpleStringAddress, (ulong)page);
        if (result is null)
            throw new InjectionFailedException(
                $"{AddPendingCall} did not return within {CallTimeout.TotalSeconds:0.#} s in PID {Pid} (the interrupted code held its lock?); the thread was restored",
                "retry in a moment");
        if ((int)result.Value != 0)
        {
            session.Syscall(syscall, _arch.MunmapNumber, CallTimeout, (ulong)page, size);
            throw new InjectionFailedException($"the pending-call queue of PID {Pid} is full ({AddPendingCall} returned {(int)result.Value})",
                "the main thread has not run Python code for a while; retry once it does");
        }
    }

    /// <summary>
    /// An address holding the syscall instruction: where the interrupted syscall was entered when
    /// there is one, else the first one found in the C library's code (or any executable mapping).
    /// Two bytes anywhere in code are enough: the CPU decodes from where rip points.
    /// </summary>
    internal static ulong FindSyscallInstruction(PtraceArchitecture arch, ProcFs procfs, int pid, IProcessMemory memory, ulong[] saved)
    {
        var insn = arch.SyscallInstruction;
        var buffer = new byte[64 * 1024];
        if (arch.SyscallInProgress(saved) is not null)
        {
            var at = arch.ProgramCounter(saved) - (ulong)insn.Length;
            try
            {
                memory.Read(at, buffer.AsSpan(0, insn.Length));
                if (buffer.AsSpan(0, insn.Length).SequenceEqual(insn)) return at;
            }
            catch (MemoryAccessException)
            {
                // look elsewhere
            }
        }
        var code = procfs.Maps(pid).Where(m => m.Perms.StartsWith("r-x", StringComparison.Ordinal))
            .OrderBy(m => m.FileName.StartsWith("libc", StringComparison.Ordinal) ? 0 : 1);
        foreach (var mapping in code)
        {
            for (var at = mapping.Start; at < mapping.End; at += (ulong)buffer.Length - 1)
            {
                var span = buffer.AsSpan(0, (int)Math.Min((ulong)buffer.Length, mapping.End - at));
                try
                {
                    memory.Read(at, span);
                }
                catch (MemoryAccessException)
                {
                    break;
                }
                var found = span.IndexOf(insn);
                if (found >= 0) return at + (ulong)found;
            }
        }
        throw new InjectionFailedException($"no syscall instruction found in the code of PID {pid}");
    }

    /// <summary>Nothing to release: the process is held only inside <see cref="InjectAsync"/>.</summary>
    public void Dispose()
    {
    }
}
