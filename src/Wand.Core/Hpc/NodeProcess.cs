namespace Wand.Hpc;

/// <summary>A Python process of the user on a node, as <c>rdg attach</c> offers it.</summary>
/// <param name="Armed">Started by <c>rdg debug --lite</c>: its FIFO is open, activation loads the debugger.</param>
/// <param name="Listening">debugpy already listens in it (from rdg or a previous attach): host and port in the session record.</param>
/// <param name="ZeroPrep">Python 3.14+ with remote debugging enabled, or 3.9-3.13 reachable through ptrace: can be attached without any preparation.</param>
/// <param name="Reason">Why it cannot be attached, when it cannot.</param>
public sealed record NodeProcess(int Pid, string? Version, string Role, bool Armed, bool ZeroPrep, string? Reason, string? Cwd, IReadOnlyList<string> CommandLine)
{
    public bool CanAttach => Armed || ZeroPrep;

    public string Describe() =>
        $"PID {Pid}  Python {Version ?? "?"}  {Role}  {(Armed ? "lite-armed" : ZeroPrep ? "attachable (zero-prep)" : $"not attachable: {Reason}")}  {string.Join(' ', CommandLine)}";
}
