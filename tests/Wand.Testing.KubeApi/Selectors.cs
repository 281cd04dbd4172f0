using System.Text.Json.Nodes;

namespace Wand.Testing.KubeApi;

/// <summary>labelSelector (equality and existence terms: a=b, a==b, a!=b, a, !a) and fieldSelector (metadata.name, metadata.namespace).</summary>
internal static class Selectors
{
    public static bool Matches(JsonObject resource, string? labelSelector, string? fieldSelector)
    {
        var labels = resource["metadata"]?["labels"] as JsonObject ?? [];
        string? Label(string k) => labels[k.Trim()]?.GetValue<string>();
        foreach (var raw in (labelSelector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.Contains("!=", StringComparison.Ordinal))
            {
                var (k, v) = Split(raw, "!=");
                if (Label(k) == v) return false;
            }
            else if (raw.Contains('='))
            {
                var (k, v) = Split(raw.Replace("==", "=", StringComparison.Ordinal), "=");
                if (Label(k) != v) return false;
            }
            else if (raw.StartsWith('!'))
            {
                if (Label(raw[1..]) is not null) return false;
            }
            else if (Label(raw) is null)
            {
                return false;
            }
        }
        foreach (var raw in (fieldSelector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var negate = raw.Contains("!=", StringComparison.Ordinal);
            var (field, value) = Split(raw.Replace("==", "=", StringComparison.Ordinal), negate ? "!=" : "=");
            var actual = field switch
            {
                "metadata.name" => resource["metadata"]?["name"]?.GetValue<string>(),
                "metadata.namespace" => resource["metadata"]?["namespace"]?.GetValue<string>(),
                "status.phase" => resource["status"]?["phase"]?.GetValue<string>(),
                _ => throw new ArgumentException($"field label not supported: {field}"),
            };
            if ((actual == value) == negate) return false;
        }
        return true;
    }

    private static (string Key, string Value) Split(string term, string op)
    {
        var i = term.IndexOf(op, StringComparison.Ordinal);
        return (term[..i].Trim(), term[(i + op.Length)..].Trim());
    }
}
