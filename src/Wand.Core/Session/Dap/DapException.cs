namespace Wand.Session.Dap;

/// <summary>The base of every failure of the DAP layer, so callers can catch them as one.</summary>
public abstract class DapException(string message, Exception? inner = null) : Exception(message, inner);
