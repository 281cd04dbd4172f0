using System.Text;
using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Injection.Attacher;

/// <summary>
/// A CPython 3.14+ process opened for PEP 768 remote execution: its validated debug offsets, the
/// main interpreter and the thread that will run injected scripts. See ../shared/design/PEP768.md for the protocol
/// and CPython's Python/remote_debugging.c for the reference implementation this mirrors.
/// </summary>
public sealed class Pep768Target : IScriptInjector
{
    /// <summary><c>_PY_EVAL_PLEASE_STOP_BIT</c> (Include/internal/pycore_ceval.h): makes the thread check pending work.</summary>
    private const byte PleaseStopBit = 1 << 5;
    private const int MaxListWalk = 10_000;

    private readonly IProcessMemory _memory;
    private readonly ProcFs _procfs;
    private readonly TimeProvider _time;

    private Pep768Target(IProcessMemory memory, ProcFs procfs, TimeProvider time, PythonBinary binary, DebugOffsets offsets,
        ulong interpreter, ulong threadState, int threadId)
    {
        _memory = memory;
        _procfs = procfs;
        _time = time;
        Binary = binary;
        Offsets = offsets;
        Interpreter = interpreter;
        ThreadState = threadState;
        ThreadId = threadId;
    }

    public int Pid => _memory.Pid;
    public PythonBinary Binary { get; }
    public DebugOffsets Offsets { get; }
    public ulong Interpreter { get; }
    public ulong ThreadState { get; }
    public int ThreadId { get; }

    private ulong Support => ThreadState + Offsets.RemoteDebuggerSupport;

    /// <summary>False when the target runs with PYTHON_DISABLE_REMOTE_DEBUG or -X disable-remote-debug.</summary>
    public bool RemoteDebuggingEnabled => _memory.ReadI32(Interpreter + Offsets.RemoteDebuggingEnabled) == 1;

    /// <summary>True when a remote-exec request is waiting for the target to pick it up.</summary>
    public bool RequestPending => _memory.ReadI32(Support + Offsets.PendingCall) != 0;

    /// <summary>
    /// Opens <paramref name="pid"/>: locates the runtime, reads and validates the debug offsets from
    /// the target's memory, finds interpreter 0 and the thread to use.
    /// </summary>
    /// <param name="binary">The runtime's file when the caller has located it already (reading the maps and the ELF file again costs a few ms).</param>
    public static Pep768Target Open(int pid, ProcFs? procfs = null, TimeProvider? time = null, PythonBinary? binary = null)
    {
        procfs ??= ProcFs.Default;
        binary ??= PythonBinaryLocator.FindOrThrow(pid, procfs);
        if (binary.Version is { } fileVersion) DebugOffsets.EnsureSupported(fileVersion);
        var memory = ProcessMemory.Open(pid);
        try
        {
            var table = new byte[DebugOffsets.MaxTableSize];
            memory.Read(binary.RuntimeAddress, table);
            if (!DebugOffsets.HasCookie(table))
                throw new NotPythonException(pid, $"{binary.MappedPath} is mapped but its runtime holds no debug cookie (an uninitialised copy loaded by ctypes?)");
            var offsets = DebugOffsets.Parse(table);
            var interpreter = FindMainInterpreter(memory, binary.RuntimeAddress, offsets)
                ?? throw new InjectionFailedException($"PID {pid} has no main interpreter (not initialised yet, or finalizing)", "retry in a moment");
            var (threadState, tid) = FindThread(memory, interpreter, offsets, pid);
            return new Pep768Target(memory, procfs, time ?? TimeProvider.System, binary, offsets, interpreter, threadState, tid);
        }
        catch (MemoryAccessException e)
        {
            memory.Dispose();
            throw procfs.Exists(pid)
                ? new InjectionFailedException($"reading the interpreter state of PID {pid} failed: {e.Message}", inner: e)
                : new TargetExitedException(pid, "while wand was reading its interpreter state");
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Asks the target to run the script at <paramref name="scriptPath"/> (a path in the target's own
    /// mount namespace) and waits until it accepts. If another request is pending, waits for it within
    /// the same timeout instead of overwriting it. On timeout the request is withdrawn, so it never runs
    /// later, and <see cref="SafePointTimeoutException"/> says where the thread is blocked.
    /// </summary>
    public async Task<InjectionReceipt> InjectAsync(string scriptPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = Encoding.UTF8.GetBytes(scriptPath + "\0");
        if ((ulong)path.Length > Offsets.ScriptPathSize)
            throw new InjectionFailedException($"script path is {path.Length - 1} bytes; the target accepts at most {Offsets.ScriptPathSize - 1}");
        if (!RemoteDebuggingEnabled) throw new RemoteDebugDisabledException(Pid);

        var started = _time.GetTimestamp();
        var waited = false;
        while (RequestPending)
        {
            waited = true;
            if (_time.GetElapsedTime(started) > timeout) throw new TargetBusyException(Pid);
            await Task.Delay(5, cancellationToken);
        }

        var flagSet = _time.GetTimestamp();
        try
        {
            _memory.Write(Support + Offsets.ScriptPath, path);
            _memory.WriteI32(Support + Offsets.PendingCall, 1);
            // Only the low byte: the other bits of the eval breaker change concurrently in the target.
            var breaker = ThreadState + Offsets.EvalBreaker;
            _memory.WriteU8(breaker, (byte)(_memory.ReadU8(breaker) | PleaseStopBit));

            while (RequestPending)
            {
                if (_time.GetElapsedTime(flagSet) > timeout)
                {
                    Withdraw();
                    throw new SafePointTimeoutException(Pid, ThreadId, timeout, _procfs.WaitChannel(Pid, ThreadId),
                        Stacks.StackCapture.TryReadThread(_memory, Binary.RuntimeAddress, ThreadId));
                }
                // A request left pending for long (a reloader waiting for its worker: spawn_hold.py) is looked at less often.
                await Task.Delay(_time.GetElapsedTime(flagSet) < TimeSpan.FromSeconds(1) ? 1 : 20, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            Withdraw();
            throw;
        }
        catch (MemoryAccessException) when (!_procfs.Exists(Pid))
        {
            throw new TargetExitedException(Pid, "during the injection");
        }
        return new InjectionReceipt(ThreadId, waited, _time.GetElapsedTime(flagSet));
    }

    string IScriptInjector.Description => $"Python {Offsets.Version}";

    Task IScriptInjector.InjectAsync(TargetWorkDir dir, string scriptName, TimeSpan timeout, CancellationToken cancellationToken) =>
        InjectAsync(dir.TargetPath + "/" + scriptName, timeout, cancellationToken);

    private void Withdraw()
    {
        try
        {
            _memory.WriteI32(Support + Offsets.PendingCall, 0);
        }
        catch (Exception e) when (e is MemoryAccessException or TargetExitedException)
        {
            // the process is gone: nothing left to withdraw
        }
    }

    public void Dispose() => _memory.Dispose();

    private static ulong? FindMainInterpreter(IProcessMemory memory, ulong runtime, DebugOffsets offsets)
    {
        // New interpreters are pushed at the head of the list: walk to the one with id 0.
        var interp = memory.ReadU64(runtime + offsets.InterpretersHead);
        for (var i = 0; interp != 0 && i < MaxListWalk; i++)
        {
            if (memory.ReadU64(interp + offsets.InterpreterId) == 0) return interp;
            interp = memory.ReadU64(interp + offsets.InterpreterNext);
        }
        return null;
    }

    private static (ulong ThreadState, int Tid) FindThread(IProcessMemory memory, ulong interp, DebugOffsets offsets, int pid)
    {
        var main = memory.ReadU64(interp + offsets.ThreadsMain);
        if (main == 0)
        {
            // Embedded interpreters and children forked from a non-main thread have no main thread
            // state: take the thread whose kernel TID is the PID, else the first one.
            var first = 0UL;
            var t = memory.ReadU64(interp + offsets.ThreadsHead);
            for (var i = 0; t != 0 && i < MaxListWalk; i++)
            {
                if (first == 0) first = t;
                if ((int)memory.ReadU64(t + offsets.ThreadNativeId) == pid) { main = t; break; }
                t = memory.ReadU64(t + offsets.ThreadNext);
            }
            main = main != 0 ? main : first;
        }
        if (main == 0) throw new InjectionFailedException($"PID {pid} has no Python thread state to run code in");
        if (memory.ReadU64(main + offsets.ThreadInterp) != interp)
            throw new InjectionFailedException($"PID {pid}: the thread state does not point back to its interpreter (memory changed while reading; retry)");
        return (main, (int)memory.ReadU64(main + offsets.ThreadNativeId));
    }
}
