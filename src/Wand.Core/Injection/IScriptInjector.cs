namespace Wand.Injection;

/// <summary>
/// A way into a live Python process: makes its main thread run one of wand's scripts (a file in a
/// <see cref="TargetWorkDir"/>) at its next safe point. PEP 768 for 3.14+, a ptrace'd pending call
/// for 3.9-3.13; <see cref="ScriptInjectors.Open"/> picks one.
/// </summary>
public interface IScriptInjector : IDisposable
{
    /// <summary>What the target runs, for progress ("Python 3.11.2").</summary>
    string Description { get; }

    /// <summary>
    /// Queues the script and waits until the target starts it. On timeout the request is withdrawn, so
    /// it never runs later, and <see cref="Errors.SafePointTimeoutException"/> says where the thread is.
    /// </summary>
    Task InjectAsync(TargetWorkDir dir, string scriptName, TimeSpan timeout, CancellationToken cancellationToken);
}
