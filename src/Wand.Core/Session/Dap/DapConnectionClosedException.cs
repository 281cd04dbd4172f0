namespace Wand.Session.Dap;

/// <summary>
/// Thrown to every pending request and event wait when the connection to the adapter ends (the peer
/// closed it, it broke, or the client was disposed), and by any request sent afterwards.
/// </summary>
public sealed class DapConnectionClosedException(string message, Exception? inner = null) : DapException(message, inner);
