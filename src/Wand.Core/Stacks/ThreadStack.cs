namespace Wand.Stacks;

/// <summary>One OS thread of the target: its Python stack (when it has a Python thread state) and native state.</summary>
/// <param name="Python">Null for OS threads without a Python thread state.</param>
public sealed record ThreadStack(int Tid, string? Name, ThreadNameSource NameSource, NativeActivity Native, PythonThread? Python);
