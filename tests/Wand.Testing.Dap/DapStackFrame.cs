namespace Wand.Session.Dap;

/// <summary>One frame of a <c>stackTrace</c> response.</summary>
/// <param name="Id">The frame id for <c>scopes</c> and <c>evaluate</c>.</param>
/// <param name="Name">The function's name, e.g. <c>tick</c>.</param>
/// <param name="SourcePath">The source's path as the debuggee sees it (after pathMappings), or null for frames without source.</param>
/// <param name="Line">The current line (1-based, as the session was initialised).</param>
/// <param name="Column">The current column (1-based).</param>
public sealed record DapStackFrame(int Id, string Name, string? SourcePath, int Line, int Column);
