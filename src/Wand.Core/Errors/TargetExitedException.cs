namespace Wand.Errors;

/// <summary>Thrown when the target process exits while wand is working with it.</summary>
public sealed class TargetExitedException(int pid, string during)
    : WandException(ExitCodes.TargetExited, $"PID {pid} exited {during}", "the process is gone; start it again and retry");
