namespace Wand.Stacks;

/// <summary>
/// A Python thread state as read from memory: the kernel thread id it runs on, whether it holds the
/// GIL, its frames innermost last, and what went wrong if the frame chain could not be read to its end.
/// </summary>
/// <param name="Problem">Null, or why <see cref="Frames"/> stops early ("changed while reading: ...").</param>
public sealed record PythonThread(int NativeId, int InterpreterId, bool HoldsGil, IReadOnlyList<StackFrame> Frames, string? Problem);
