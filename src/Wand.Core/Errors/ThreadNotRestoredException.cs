namespace Wand.Errors;

/// <summary>
/// Thrown when wand could not put a thread it held with ptrace back exactly as it was (a register
/// write refused for a reason other than the thread being gone). The thread has been released all
/// the same, with every register that could be written restored; what could not be is named, and
/// the process may misbehave from then on. Not an <see cref="InjectionFailedException"/>: nothing
/// should retry into a process in that state.
/// </summary>
public sealed class ThreadNotRestoredException : WandException
{
    private const string Hint_ = "restart the process when you can; please report this with the target's Python version and kernel";

    /// <summary>From the host's own ptrace session.</summary>
    /// <param name="notRestored">What could not be put back, one item each (e.g. "register cs: Input/output error").</param>
    /// <param name="cause">The failure being handled when the thread was released, if any.</param>
    public ThreadNotRestoredException(int pid, int tid, IReadOnlyList<string> notRestored, Exception? cause = null)
        : base(ExitCodes.ThreadNotRestored,
            $"thread {tid} of PID {pid} could not be put back exactly as it was ({string.Join("; ", notRestored)}); it was released and runs on, but may misbehave" +
            (cause is null ? "" : $" (this happened while handling: {cause.Message})"), Hint_, cause)
    {
        Pid = pid;
        NotRestored = notRestored;
    }

    /// <summary>From agent_ptrace.py (the exec route), whose one line says the same.</summary>
    public ThreadNotRestoredException(int pid, string detail)
        : base(ExitCodes.ThreadNotRestored, detail, Hint_)
    {
        Pid = pid;
        NotRestored = [];
    }

    public int Pid { get; }

    /// <summary>What could not be put back, one item each; empty when the agent in a container reported it.</summary>
    public IReadOnlyList<string> NotRestored { get; }
}
