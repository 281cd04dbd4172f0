namespace Wand.Errors;

/// <summary>Thrown when the target process has no CPython runtime mapped.</summary>
public sealed class NotPythonException(int pid, string what)
    : WandException(ExitCodes.NotPython, $"PID {pid} is not a CPython process ({what})", remedy: new Remedy(RemedyKind.ListProcesses));
