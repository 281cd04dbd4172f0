using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Wand.Hpc;

/// <summary>
/// <c>rdg stacks -o json</c>: one document, <c>{"job", "processes": [{"rank", "node", "pid", "stacks", "error"}]}</c>,
/// by rank (processes without one last), then node and PID; <c>stacks</c> is each node's
/// <c>wand stacks -o json</c> document (docs/stacks-json.md) as it came, or null with <c>error</c> saying why.
/// </summary>
public static class JobStacksJson
{
    public static string Write(string? job, IEnumerable<(string Node, NodeStacks Stacks)> processes)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("job", job);
            w.WriteStartArray("processes");
            foreach (var (node, s) in InOrder(processes))
            {
                w.WriteStartObject();
                if (s.Rank is { } rank) w.WriteNumber("rank", rank);
                else w.WriteNull("rank");
                w.WriteString("node", node);
                w.WriteNumber("pid", s.Pid);
                w.WritePropertyName("stacks");
                if (s.Stacks is { } stacks) w.WriteRawValue(stacks);
                else w.WriteNullValue();
                w.WriteString("error", s.Error);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The order <c>rdg stacks</c> prints in: by rank (none last), then node, then PID.</summary>
    public static IEnumerable<(string Node, NodeStacks Stacks)> InOrder(IEnumerable<(string Node, NodeStacks Stacks)> processes) =>
        processes.OrderBy(a => a.Stacks.Rank ?? int.MaxValue).ThenBy(a => a.Node, StringComparer.Ordinal).ThenBy(a => a.Stacks.Pid);
}
