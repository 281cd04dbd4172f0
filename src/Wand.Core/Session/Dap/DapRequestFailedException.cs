using System.Text.Json.Nodes;

namespace Wand.Session.Dap;

/// <summary>Thrown when the adapter answers a request with <c>success: false</c>.</summary>
public sealed class DapRequestFailedException(string command, string adapterMessage, JsonObject? body = null)
    : DapException($"DAP request '{command}' failed: {adapterMessage}")
{
    /// <summary>The request's command, e.g. <c>attach</c>.</summary>
    public string Command { get; } = command;

    /// <summary>The adapter's own words: the response's <c>message</c>, else its <c>body.error.format</c>.</summary>
    public string AdapterMessage { get; } = adapterMessage;

    /// <summary>The response body, when the adapter sent one (DAP puts an <c>error</c> object there).</summary>
    public JsonObject? Body { get; } = body;
}
