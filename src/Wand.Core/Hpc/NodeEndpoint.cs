namespace Wand.Hpc;

/// <summary>Where the debugger of one process listens after <c>rdg attach</c> activated it.</summary>
/// <param name="How">"lite" (the armed launcher started debugpy) or "zero-prep" (injected through PEP 768).</param>
public sealed record NodeEndpoint(int Pid, string Host, int Port, string How, string? Cwd, string? Python);
