namespace Wand.Session.Dap;

/// <summary>
/// Thrown when the peer breaks the wire format: a bad or missing <c>Content-Length</c>, an oversized
/// header or body, the stream ending inside a message, or a body that is not a JSON object.
/// </summary>
public sealed class DapProtocolException(string message, Exception? inner = null) : DapException(message, inner);
