namespace Wand.Errors;

/// <summary>
/// A supervisor (gunicorn master, uvicorn --workers parent) was named where one process is debugged
/// without a session, and it has several workers; the CLI says how to debug them all or one.
/// </summary>
public sealed class SeveralWorkersException(string message, int supervisor, IReadOnlyList<int> workers)
    : WandException(ExitCodes.Usage, message)
{
    public int Supervisor { get; } = supervisor;

    /// <summary>The workers' PIDs, ascending.</summary>
    public IReadOnlyList<int> Workers { get; } = workers;
}
