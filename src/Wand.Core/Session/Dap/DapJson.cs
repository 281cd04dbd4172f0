using System.Text.Json.Nodes;

namespace Wand.Session.Dap;

/// <summary>Tolerant readers for the few typed fields of DAP messages (a wrong type reads as absent).</summary>
internal static class DapJson
{
    public static string? String(JsonObject message, string name) =>
        message[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static bool TryInt(JsonObject message, string name, out int result)
    {
        result = 0;
        return message[name] is JsonValue value && value.TryGetValue(out result);
    }

    public static int? Int(JsonObject message, string name) => TryInt(message, name, out var result) ? result : null;

    public static bool Bool(JsonObject message, string name) =>
        message[name] is JsonValue value && value.TryGetValue<bool>(out var flag) && flag;

    public static int RequiredInt(JsonObject message, string name, string what) =>
        TryInt(message, name, out var result) ? result : throw new DapProtocolException($"{what} has no integer '{name}'");

    public static string RequiredString(JsonObject message, string name, string what) =>
        String(message, name) ?? throw new DapProtocolException($"{what} has no string '{name}'");

    /// <summary>The objects of an array field; absent or mistyped reads as empty.</summary>
    public static IEnumerable<JsonObject> Objects(JsonObject message, string name) =>
        message[name] is JsonArray array ? array.OfType<JsonObject>() : [];
}
