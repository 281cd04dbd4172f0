namespace Wand.Errors;

/// <summary>Thrown when no process with the given PID exists (or it is not visible to us).</summary>
public sealed class ProcessNotFoundException(int pid)
    : WandException(ExitCodes.ProcessNotFound, $"no process with PID {pid}", remedy: new Remedy(RemedyKind.ListProcesses))
{
    public int Pid { get; } = pid;
}
