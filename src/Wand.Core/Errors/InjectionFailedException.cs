namespace Wand.Errors;

/// <summary>
/// Thrown when injection fails for a reason that is not one of the more specific ones (corrupt runtime
/// state, I/O error). The kinds the CLI words itself (still importing, an exec route's timeout, debugpy's
/// port) derive from it: a session retries them once and an exec route tries the next interpreter, as for any.
/// </summary>
public class InjectionFailedException(string message, string? hint = null, Exception? inner = null, Remedy? remedy = null)
    : WandException(ExitCodes.InjectionFailed, message, hint, inner, remedy);
