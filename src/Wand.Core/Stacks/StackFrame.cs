namespace Wand.Stacks;

/// <summary>One Python frame as read from the target's memory.</summary>
/// <param name="Line">From the code object's location table; null when the table has no line for the instruction.</param>
/// <param name="Function">The code object's qualified name (<c>Worker.run</c>, <c>&lt;module&gt;</c>).</param>
/// <param name="Locals">Null unless locals were asked for.</param>
public sealed record StackFrame(string File, int? Line, string Function, IReadOnlyList<LocalVariable>? Locals);
