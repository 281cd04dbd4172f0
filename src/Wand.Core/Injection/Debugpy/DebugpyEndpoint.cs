namespace Wand.Injection.Debugpy;

/// <summary>debugpy accepting editor connections inside a target.</summary>
/// <param name="Reused">The target already had wand's debugpy listening; nothing new was started.</param>
/// <param name="CopiedFrom">Host folder of the debugpy copied into the target, when it had none.</param>
/// <param name="Direct">pydevd accepts the editor itself (debugpy's in-process adapter); false: through debugpy's adapter process.</param>
/// <param name="Note">Why a direct listen was asked for and not had (a debugpy too old for it), else null.</param>
public sealed record DebugpyEndpoint(string Host, int Port, bool Reused, string DebugpyVersion, TargetCodeInfo Target, string? CopiedFrom, bool Direct = false, string? Note = null);
