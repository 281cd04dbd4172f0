using System.Globalization;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>The messages the proxy writes itself (sequence numbers are set when they are sent).</summary>
internal static class ProxyMessages
{
    public static JsonObject Response(int requestSeq, string command, JsonObject? body = null)
    {
        var response = new JsonObject { ["seq"] = 0, ["type"] = "response", ["request_seq"] = requestSeq, ["success"] = true, ["command"] = command };
        if (body is not null) response["body"] = body;
        return response;
    }

    /// <summary>A failed response whose message an editor shows to its user.</summary>
    public static JsonObject Error(int requestSeq, string command, string message) => new()
    {
        ["seq"] = 0,
        ["type"] = "response",
        ["request_seq"] = requestSeq,
        ["success"] = false,
        ["command"] = command,
        ["message"] = message,
        ["body"] = new JsonObject { ["error"] = new JsonObject { ["id"] = 7001, ["format"] = message, ["showUser"] = true } },
    };

    public static JsonObject Event(string name, JsonObject? body = null)
    {
        var message = new JsonObject { ["seq"] = 0, ["type"] = "event", ["event"] = name };
        if (body is not null) message["body"] = body;
        return message;
    }

    /// <summary>A line in the editor's debug console.</summary>
    public static JsonObject Output(string text) => Event("output", new JsonObject { ["category"] = "console", ["output"] = text + "\n" });

    public static JsonObject ThreadExited(int threadId) => Event("thread", new JsonObject { ["reason"] = "exited", ["threadId"] = threadId });

    public static JsonObject Request(string command, JsonObject? arguments)
    {
        var request = new JsonObject { ["seq"] = 0, ["type"] = "request", ["command"] = command };
        if (arguments is not null) request["arguments"] = arguments;
        return request;
    }

    /// <summary>
    /// The body of a setBreakpoints/setFunctionBreakpoints answer given here: every requested breakpoint
    /// unverified with <paramref name="why"/>, each with an id from <paramref name="newId"/> if given (so the
    /// replay can tell the editor when it is verified).
    /// </summary>
    public static JsonObject Unverified(JsonObject? arguments, string why, Func<int>? newId)
    {
        var result = new JsonArray();
        var requested = arguments?["breakpoints"] as JsonArray ?? arguments?["lines"] as JsonArray ?? [];
        foreach (var item in requested)
        {
            var breakpoint = new JsonObject { ["verified"] = false, ["message"] = why };
            if (newId is not null) breakpoint["id"] = newId();
            if (item is JsonObject b && DapJson.Int(b, "line") is { } line) breakpoint["line"] = line;
            else if (item is JsonValue v && v.TryGetValue<int>(out var bare)) breakpoint["line"] = bare;
            result.Add((JsonNode)breakpoint);
        }
        return new JsonObject { ["breakpoints"] = result };
    }

    /// <summary>A duration in seconds as the user reads it ("1.5").</summary>
    public static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
