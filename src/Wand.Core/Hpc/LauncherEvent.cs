using System.Text.Json;

namespace Wand.Hpc;

/// <summary>One message of the launcher to rdg: started, waiting, listening, attached, armed, crashed, post-mortem-timeout, error, finished.</summary>
public sealed record LauncherEvent(string Name, JsonElement Body)
{
    public string? String(string property) =>
        Body.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public int? Int(string property) =>
        Body.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
}
