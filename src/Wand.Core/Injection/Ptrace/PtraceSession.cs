using System.Diagnostics;
using System.Runtime.InteropServices;
using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Injection.Ptrace;

/// <summary>
/// One thread of a process held with ptrace: seized and interrupted on creation, made to run a
/// syscall or a function call, then put back exactly as it was and released on dispose. Synchronous
/// and bound to the OS thread that created it (the kernel accepts ptrace requests for a tracee only
/// from the thread that attached).
/// </summary>
/// <remarks>
/// Why the thread resumes as it was: PTRACE_SEIZE + PTRACE_INTERRUPT stop it in the kernel's signal
/// path (get_signal). If it was inside a syscall, the syscall has been cut short with -ERESTART*
/// and orig_rax still holds its number; when the thread leaves the stop with no signal to handle,
/// arch_do_signal_or_restart rewinds rip over the syscall instruction and reloads rax from orig_rax
/// (or sets up restart_syscall), so the call is made again, as after a debugger's stop. Our own
/// sequences run with orig_rax = -1 (no restart); the saved registers, orig_rax included, are
/// written back before the last resume, so the restart happens then. A signal that reaches the
/// thread while we hold it is taken out of the way (its signal-delivery-stop is resumed without
/// it) and given back when we let go: on detach from a signal-delivery-stop with its siginfo, or
/// with tgkill. The floating-point and vector registers are saved before the first syscall or call
/// wand makes the thread run and written back with the others: the C function wand calls may use
/// xmm/ymm and mxcsr freely (caller-saved in the System V ABI), but a thread stopped in the middle
/// of its own code, not at a call, still holds live values there.
/// </remarks>
internal sealed unsafe class PtraceSession : IDisposable
{
    private const int SigInfoSize = 128;

    private readonly PtraceArchitecture _arch;
    private readonly List<(int Signal, byte[] Info)> _deferred = [];
    private bool _inSignalStop;
    private bool _gone;
    private bool _released;
    /// <summary>Resumed and not seen stopped since: a step failed in the middle (see <see cref="StopAgain"/>).</summary>
    private bool _running;
    private byte[]? _savedExtended;

    private PtraceSession(int pid, int tid, PtraceArchitecture arch, ulong[] saved)
    {
        Pid = pid;
        Tid = tid;
        _arch = arch;
        Saved = saved;
    }

    public int Pid { get; }
    public int Tid { get; }

    /// <summary>
    /// The registers of the thread when it was stopped, written back on release once wand has made it
    /// run anything (a session that only looks, like a stack capture, has nothing to put back and so
    /// nothing that can fail).
    /// </summary>
    public ulong[] Saved { get; }

    /// <summary>Signals that arrived while the thread was held, to be delivered on dispose.</summary>
    public int DeferredSignals => _deferred.Count;

    /// <summary>Seizes thread <paramref name="tid"/> of <paramref name="pid"/> and stops it.</summary>
    /// <exception cref="PtraceRefusedException">The kernel refused (permissions, Yama, already traced).</exception>
    public static PtraceSession Attach(int pid, int tid, PtraceArchitecture arch, ProcFs procfs, TimeSpan timeout)
    {
        if (PtraceNative.ptrace(PtraceNative.PTRACE_SEIZE, tid, 0, 0) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ESRCH && !procfs.Exists(pid)) throw new TargetExitedException(pid, "before wand could stop it");
            throw PtraceRefusedException.Diagnose(pid, errno, procfs);
        }
        PtraceSession? session = null;
        var pending = new List<(int Signal, byte[] Info)>();
        try
        {
            if (PtraceNative.ptrace(PtraceNative.PTRACE_INTERRUPT, tid, 0, 0) < 0)
                throw Failure("PTRACE_INTERRUPT", tid, Marshal.GetLastPInvokeError());
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                var (signal, evt) = WaitStop(pid, tid, deadline) ?? throw new InjectionFailedException(
                    $"thread {tid} of PID {pid} did not stop within {timeout.TotalSeconds:0.#} s of PTRACE_INTERRUPT", "retry; if it persists the process may be frozen (cgroup freezer, SIGSTOP)");
                if (evt == PtraceNative.PTRACE_EVENT_STOP) break; // the interrupt (or a group-stop): the thread is where it was
                // A signal was being delivered first: keep it for later and let the interrupt stop land.
                pending.Add((signal, GetSigInfo(tid)));
                Resume(PtraceNative.PTRACE_CONT, tid, 0);
            }
            session = new PtraceSession(pid, tid, arch, arch.ReadRegisters(tid));
            session._deferred.AddRange(pending);
            return session;
        }
        catch
        {
            if (session is null)
            {
                // Not stopped (the interrupt never landed)? Then the kernel lets go when this thread ends.
                PtraceNative.ptrace(PtraceNative.PTRACE_DETACH, tid, 0, 0);
                foreach (var (signal, _) in pending) PtraceNative.syscall(arch.TgkillNumber, pid, tid, signal);
            }
            throw;
        }
    }

    /// <summary>Runs one syscall with the syscall instruction at <paramref name="instruction"/>; returns its result (negative errno on failure).</summary>
    public long Syscall(ulong instruction, long number, TimeSpan timeout, params ulong[] args)
    {
        SaveExtendedState();
        _arch.WriteRegisters(Tid, _arch.PlanSyscall(Saved, instruction, number, args));
        var after = instruction + (ulong)_arch.SyscallInstruction.Length;
        var regs = RunUntil(PtraceNative.PTRACE_SINGLESTEP, PtraceNative.SIGTRAP, after, timeout)
            ?? throw new InjectionFailedException($"the syscall wand made thread {Tid} of PID {Pid} run did not finish within {timeout.TotalSeconds:0.#} s");
        return _arch.ReturnValue(regs);
    }

    /// <summary>
    /// Calls <paramref name="function"/> with <paramref name="args"/>, returning to
    /// <paramref name="trapAddress"/> (mapped, not executable: the return faults there); returns its
    /// result, or null when it did not return within <paramref name="timeout"/> (the thread is then
    /// stopped again and will be restored on dispose, abandoning the call's frame).
    /// </summary>
    public long? Call(IProcessMemory memory, ulong function, ulong trapAddress, TimeSpan timeout, params ulong[] args)
    {
        SaveExtendedState();
        var (regs, stackAddress, stack) = _arch.PlanCall(Saved, function, trapAddress, args);
        memory.Write(stackAddress, stack);
        _arch.WriteRegisters(Tid, regs);
        return RunUntil(PtraceNative.PTRACE_CONT, PtraceNative.SIGSEGV, trapAddress, timeout) is { } done ? _arch.ReturnValue(done) : null;
    }

    /// <summary>
    /// Reads the extended state once, before the thread first runs for wand; a session that only
    /// looks (stack capture) never pays for it and has nothing to put back.
    /// </summary>
    private void SaveExtendedState() => _savedExtended ??= _arch.ReadExtendedState(Tid);

    /// <summary>
    /// Resumes the thread until it stops with <paramref name="signal"/> at <paramref name="pc"/>;
    /// returns the registers there, or null after <paramref name="timeout"/> (the thread stopped again).
    /// Other signals are deferred; an unexpected fault is an error.
    /// </summary>
    private ulong[]? RunUntil(long request, int signal, ulong pc, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        Go(request);
        _inSignalStop = false;
        while (true)
        {
            if (Wait(deadline) is not var (sig, evt))
            {
                // Took too long (a lock the interrupted code holds?): stop it where it is.
                PtraceNative.ptrace(PtraceNative.PTRACE_INTERRUPT, Tid, 0, 0);
                while (Wait(long.MaxValue) is var (s, e) && e != PtraceNative.PTRACE_EVENT_STOP)
                {
                    _deferred.Add((s, GetSigInfo(Tid)));
                    Go(PtraceNative.PTRACE_CONT);
                }
                return null;
            }
            if (evt == PtraceNative.PTRACE_EVENT_STOP)
            {
                Go(request); // a late interrupt or group-stop: go on with what we were doing
                continue;
            }
            _inSignalStop = true;
            var regs = _arch.ReadRegisters(Tid);
            if (sig == signal && _arch.ProgramCounter(regs) == pc) return regs;
            if (sig is PtraceNative.SIGSEGV or PtraceNative.SIGTRAP or 7 /* SIGBUS */ or 4 /* SIGILL */)
                throw new InjectionFailedException(
                    $"thread {Tid} of PID {Pid} got signal {sig} at 0x{_arch.ProgramCounter(regs):x} while running wand's call; its registers were restored",
                    "this is a bug in wand; please report it with the Python version of the target");
            _deferred.Add((sig, GetSigInfo(Tid)));
            _inSignalStop = false;
            Go(request);
        }
    }

    /// <summary>Resumes the held thread; from then on it counts as running until <see cref="Wait"/> sees it stop.</summary>
    private void Go(long request)
    {
        Resume(request, Tid, 0);
        _running = true;
    }

    private (int Signal, int Event)? Wait(long deadline)
    {
        try
        {
            var stop = WaitStop(Pid, Tid, deadline);
            if (stop is not null) _running = false;
            return stop;
        }
        catch (TargetExitedException)
        {
            _gone = true;
            throw;
        }
    }

    /// <summary>The next ptrace-stop of <paramref name="tid"/> as (signal, event), or null at the deadline.</summary>
    private static (int Signal, int Event)? WaitStop(int pid, int tid, long deadline)
    {
        var spins = 0;
        while (true)
        {
            int status;
            var r = PtraceNative.waitpid(tid, &status, PtraceNative.__WALL | PtraceNative.WNOHANG);
            if (r < 0) throw Failure("waitpid", tid, Marshal.GetLastPInvokeError());
            if (r == tid)
            {
                if ((status & 0xff) == 0x7f) return ((status >> 8) & 0xff, (status >> 16) & 0xffff);
                throw new TargetExitedException(pid, "during the injection"); // exited or killed
            }
            if (Stopwatch.GetTimestamp() > deadline) return null;
            // The stops come within microseconds: spin a little before sleeping.
            if (++spins < 200) Thread.Yield(); else Thread.Sleep(1);
        }
    }

    private static void Resume(long request, int tid, int signal)
    {
        if (PtraceNative.ptrace(request, tid, 0, signal) < 0) throw Failure("resuming the thread", tid, Marshal.GetLastPInvokeError());
    }

    private static byte[] GetSigInfo(int tid)
    {
        var info = new byte[SigInfoSize];
        fixed (byte* p = info) PtraceNative.ptrace(PtraceNative.PTRACE_GETSIGINFO, tid, 0, (nint)p);
        return info;
    }

    internal static Exception Failure(string what, int tid, int errno) => errno == Libc.ESRCH
        ? new TargetExitedException(tid, "during the injection")
        : new InjectionFailedException($"{what} failed for thread {tid}: {Marshal.GetPInvokeErrorMessage(errno)}");

    /// <summary>Releases the thread as <see cref="Release"/> does; a session used in a <c>using</c> has no failure in flight to name.</summary>
    /// <exception cref="ThreadNotRestoredException">A register could not be put back (the thread was released all the same).</exception>
    public void Dispose() => Release();

    /// <summary>
    /// Writes the saved registers (extended state included) back when the thread ran anything for
    /// wand, releases it (PTRACE_DETACH) and delivers the signals it was spared. Every step is tried
    /// whatever became of the ones before: a thread left stopped under a tracer hangs the process
    /// (its main thread runs no Python), which is worse than any register wand could not restore.
    /// A thread that is gone has nothing to put back.
    /// </summary>
    /// <param name="cause">The failure being handled while releasing, if any: carried by the error.</param>
    /// <exception cref="ThreadNotRestoredException">
    /// A register write was refused for a reason other than the thread being gone; thrown after the
    /// thread was released, with every other register restored.
    /// </exception>
    public void Release(Exception? cause = null)
    {
        if (_released) return;
        _released = true;
        if (_gone) return;
        var notRestored = new List<string>();
        if (_running && !StopAgain())
        {
            // Neither stopped nor gone: it runs on with what wand gave it, and wand cannot reach it any more.
            if (_gone) return;
            notRestored.Add("it did not stop again after running wand's code, so nothing could be written back");
        }
        else if (_savedExtended is not null && !Restore(notRestored))
        {
            return; // gone meanwhile
        }
        Detach(notRestored);
        if (notRestored.Count > 0) throw new ThreadNotRestoredException(Pid, Tid, notRestored, cause);
    }

    /// <summary>
    /// Writes back the registers and the extended state, each even if the other failed; false when
    /// the thread turned out to be gone.
    /// </summary>
    private bool Restore(List<string> notRestored)
    {
        try
        {
            _arch.WriteRegisters(Tid, Saved);
        }
        catch (TargetExitedException)
        {
            return false;
        }
        catch (InjectionFailedException)
        {
            // PTRACE_SETREGS stops at the first value the kernel refuses (genregs_set, putreg one by
            // one) and leaves the rest as wand's call left them: put back all that can be, one by one.
            var refused = _arch.WriteRegistersEach(Tid, Saved);
            if (refused.Count > 0 && refused.All(r => r.Errno == Libc.ESRCH)) return false;
            notRestored.AddRange(refused.Select(r => $"register {r.Register}: {Marshal.GetPInvokeErrorMessage(r.Errno)}"));
            if (refused.Count == 0) notRestored.Add("the registers were refused as a whole, then accepted one by one"); // cannot happen; never swallow it
        }
        try
        {
            _arch.WriteExtendedState(Tid, _savedExtended!);
        }
        catch (TargetExitedException)
        {
            return false;
        }
        catch (InjectionFailedException e)
        {
            notRestored.Add($"the floating-point and vector registers: {e.Message}");
        }
        return true;
    }

    /// <summary>
    /// Brings back to a stop a thread left running by a failure in the middle of a step (waitpid or a
    /// resume refused): false when it does not stop in time or is gone (<see cref="_gone"/>).
    /// </summary>
    private bool StopAgain()
    {
        PtraceNative.ptrace(PtraceNative.PTRACE_INTERRUPT, Tid, 0, 0);
        var deadline = Stopwatch.GetTimestamp() + 2 * Stopwatch.Frequency;
        try
        {
            while (WaitStop(Pid, Tid, deadline) is var (signal, evt))
            {
                if (evt == PtraceNative.PTRACE_EVENT_STOP)
                {
                    _running = false;
                    _inSignalStop = false;
                    return true;
                }
                _deferred.Add((signal, GetSigInfo(Tid)));
                if (PtraceNative.ptrace(PtraceNative.PTRACE_CONT, Tid, 0, 0) < 0) break;
            }
        }
        catch (WandException)
        {
            _gone = !Directory.Exists($"/proc/{Pid}/task/{Tid}");
        }
        return false;
    }

    /// <summary>
    /// PTRACE_DETACH, with the first spared signal when the thread is in a signal-delivery-stop (the
    /// kernel delivers it with the siginfo set), then tgkill for the others. A refused detach is
    /// named: the kernel lets the thread go only when wand's thread ends.
    /// </summary>
    private void Detach(List<string> notRestored)
    {
        var first = 0;
        if (_deferred.Count > 0 && _inSignalStop)
        {
            fixed (byte* p = _deferred[0].Info) PtraceNative.ptrace(PtraceNative.PTRACE_SETSIGINFO, Tid, 0, (nint)p);
            if (PtraceNative.ptrace(PtraceNative.PTRACE_DETACH, Tid, 0, _deferred[0].Signal) == 0) first = 1;
        }
        if (first == 0 && PtraceNative.ptrace(PtraceNative.PTRACE_DETACH, Tid, 0, 0) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ESRCH && !Directory.Exists($"/proc/{Pid}/task/{Tid}")) return; // gone
            notRestored.Add($"PTRACE_DETACH: {Marshal.GetPInvokeErrorMessage(errno)} (it stays stopped until wand exits)");
        }
        foreach (var (signal, _) in _deferred.Skip(first))
            PtraceNative.syscall(_arch.TgkillNumber, Pid, Tid, signal);
    }
}
