namespace Wand.Errors;

/// <summary>Thrown when injection fails for a reason that is not one of the more specific ones (corrupt runtime state, I/O error).</summary>
public sealed class InjectionFailedException(string message, string? hint = null, Exception? inner = null)
    : WandException(ExitCodes.InjectionFailed, message, hint, inner);
