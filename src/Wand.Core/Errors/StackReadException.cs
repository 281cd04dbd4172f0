namespace Wand.Errors;

/// <summary>
/// Thrown when the interpreter state read from the target's memory makes no sense (corrupt, or
/// changed under the read in a way that cannot be reported per thread). Nothing ran in the target.
/// The CLI words the hint with its own command.
/// </summary>
public sealed class StackReadException(string message, Exception? inner = null)
    : WandException(ExitCodes.StacksUnreadable, message, "retry; if it keeps failing, report it with the target's Python version and build", inner);
