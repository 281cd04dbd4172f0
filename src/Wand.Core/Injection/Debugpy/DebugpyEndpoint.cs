namespace Wand.Injection.Debugpy;

/// <summary>debugpy accepting editor connections inside a target.</summary>
/// <param name="Reused">The target already had wand's debugpy listening; nothing new was started.</param>
/// <param name="CopiedFrom">Host folder of the debugpy copied into the target, when it had none.</param>
public sealed record DebugpyEndpoint(string Host, int Port, bool Reused, string DebugpyVersion, TargetCodeInfo Target, string? CopiedFrom);
