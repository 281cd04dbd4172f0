namespace Wand.Errors;

/// <summary>Thrown when the target's CPython is older than 3.14, a pre-release, or has a debug-offsets layout wand does not know.</summary>
public sealed class UnsupportedPythonException(string message, string? hint, Remedy? remedy = null)
    : WandException(ExitCodes.UnsupportedPython, message, hint, remedy: remedy);
