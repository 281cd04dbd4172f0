namespace Wand.Session.Dap;

/// <summary>A <c>stopped</c> event.</summary>
/// <param name="ThreadId">The thread that stopped.</param>
/// <param name="Reason">Why: <c>breakpoint</c>, <c>step</c>, <c>exception</c>, <c>pause</c>, <c>entry</c>, ...</param>
/// <param name="Description">The adapter's human-readable text, if any.</param>
/// <param name="AllThreadsStopped">Whether every thread stopped, not just <paramref name="ThreadId"/>.</param>
public sealed record DapStopped(int ThreadId, string Reason, string? Description, bool AllThreadsStopped);
