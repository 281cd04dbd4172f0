namespace Wand.Injection;

/// <summary>What code run inside the target printed, and its traceback if it raised.</summary>
public sealed record ExecResult(bool Ok, string Stdout, string Stderr, string? Traceback);
