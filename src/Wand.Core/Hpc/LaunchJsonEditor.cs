using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wand.Hpc;

/// <summary>
/// Adds rdg's two attach configurations (SSH tunnel, compute node) and their inputs to a VS Code
/// launch.json, as text edits: everything else (other configurations, comments, trailing commas,
/// indentation, line endings) keeps its bytes. An rdg configuration that is already there keeps
/// the user's own properties (justMyCode, env, ...); only the properties rdg manages are updated,
/// so running it twice changes nothing.
/// </summary>
public static class LaunchJsonEditor
{
    /// <summary>The properties of a configuration (and of an input) that rdg owns.</summary>
    private static readonly string[] ManagedConfigurationKeys = ["type", "request", "connect", "pathMappings"];
    private static readonly string[] ManagedInputKeys = ["type", "description", "default"];

    /// <summary>The text of a new launch.json with only rdg's entries.</summary>
    public static string NewFile(LaunchJsonSettings settings) => Apply(null, settings).Text;

    /// <summary>Edits <paramref name="existing"/> (null: no file yet).</summary>
    /// <exception cref="JsonException">The text is not JSONC (the caller backs it up) .</exception>
    /// <exception cref="FormatException">It is JSONC but not a launch.json (not an object, or configurations/inputs not arrays).</exception>
    public static LaunchJsonEdit Apply(string? existing, LaunchJsonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var configurations = Configurations(settings);
        var inputs = Inputs(settings);
        if (existing is null || existing.Trim().Length == 0)
        {
            var root = new JsonObject
            {
                ["version"] = "0.2.0",
                ["configurations"] = new JsonArray([.. configurations]),
                ["inputs"] = new JsonArray([.. inputs]),
            };
            return new LaunchJsonEdit(Format(root, "", "    ", "\n") + "\n", true, []);
        }

        var bom = existing.StartsWith('\uFEFF');
        var doc = JsoncText.Parse(bom ? existing[1..] : existing);
        var rootSpan = doc.Root();
        if (doc.KindAt(rootSpan) != JsonValueKind.Object) throw new FormatException("launch.json does not hold a JSON object");
        var members = doc.Members(rootSpan);
        var edits = new List<(int Start, int End, string Text)>();
        var notes = new List<string>();
        var unit = doc.IndentUnit();
        var newline = doc.NewLine();
        var rootIndent = doc.LineIndent(rootSpan.Start) ?? "";
        var newMembers = new List<string>();

        foreach (var (property, key, wanted, managed) in new[]
                 {
                     ("configurations", "name", configurations, ManagedConfigurationKeys),
                     ("inputs", "id", inputs, ManagedInputKeys),
                 })
        {
            var member = members.LastOrDefault(m => m.Name == property);
            if (member.Name is null)
            {
                newMembers.Add(Quote(property) + ": " + Format(new JsonArray([.. wanted.Select(w => w.DeepClone())]), rootIndent + unit, unit, newline));
                continue;
            }
            if (doc.KindAt(member.Value) != JsonValueKind.Array) throw new FormatException($"\"{property}\" in launch.json is not an array");
            var elements = doc.Elements(member.Value);
            var arrayIndent = doc.LineIndent(member.Whole.Start) ?? rootIndent + unit;
            var missing = new List<string>();
            foreach (var want in wanted)
            {
                var id = (string)want[key]!;
                var found = elements.Where(e => doc.KindAt(e) == JsonValueKind.Object)
                    .Select(e => (Span: e, Node: JsonNode.Parse(doc.Slice(e), null, JsoncText.DocumentOptions)!.AsObject()))
                    .LastOrDefault(e => e.Node[key] is JsonValue v && v.TryGetValue<string>(out var s) && s == id);
                if (found.Node is null)
                {
                    missing.Add(Format(want, arrayIndent + unit, unit, newline));
                    continue;
                }
                var merged = found.Node.DeepClone().AsObject();
                foreach (var k in managed)
                    if (want[k] is { } value) merged[k] = value.DeepClone();
                    else merged.Remove(k);
                if (JsonNode.DeepEquals(found.Node, merged)) continue;
                var indent = doc.LineIndent(found.Span.Start) ?? arrayIndent + unit;
                if (doc.HasComment(found.Span)) notes.Add($"comments inside \"{id}\" could not be kept when it was updated");
                edits.Add((found.Span.Start, found.Span.End, Format(merged, indent, unit, newline)));
            }
            if (missing.Count > 0) edits.AddRange(Insert(doc, member.Value, elements, missing, arrayIndent, unit, newline));
        }

        if (newMembers.Count > 0) edits.AddRange(Insert(doc, rootSpan, [.. members.Select(m => m.Whole)], newMembers, rootIndent, unit, newline));
        if (edits.Count == 0) return new LaunchJsonEdit(existing, false, notes);
        var bytes = doc.Bytes.ToList();
        foreach (var (start, end, text) in edits.OrderByDescending(e => e.Start).ThenByDescending(e => e.End))
        {
            bytes.RemoveRange(start, end - start);
            bytes.InsertRange(start, Encoding.UTF8.GetBytes(text));
        }
        var result = Encoding.UTF8.GetString([.. bytes]);
        return new LaunchJsonEdit((bom ? "\uFEFF" : "") + result, true, notes);
    }

    /// <summary>
    /// Edits that add <paramref name="items"/> (already formatted) at the end of a container: a comma
    /// after the last existing item when it has none, and the items on their own lines just before the
    /// closing bracket, so a comment after the last item stays with it. A file that uses trailing
    /// commas gets one after the new items too.
    /// </summary>
    private static IEnumerable<(int, int, string)> Insert(JsoncText doc, JsoncText.Span container, IReadOnlyList<JsoncText.Span> existing,
        IReadOnlyList<string> items, string containerIndent, string unit, string newline)
    {
        var close = container.End - 1;
        var trailingComma = existing.Count > 0 && doc.CommaFollows(existing[^1].End);
        if (existing.Count > 0 && !trailingComma) yield return (existing[^1].End, existing[^1].End, ",");
        var itemIndent = existing.Count > 0 ? doc.LineIndent(existing[^1].Start) ?? containerIndent + unit : containerIndent + unit;
        var body = string.Join("," + newline, items.Select(i => itemIndent + i)) + (trailingComma ? "," : "");
        if (doc.LineIndent(close) is not null)
        {
            // The closing bracket is alone on its line: the new items go on lines of their own before it.
            var lineStart = doc.LineStart(close);
            if (lineStart > container.Start) yield return (lineStart, lineStart, body + newline);
            else yield return (close, close, newline + body + newline + containerIndent);
        }
        else
        {
            yield return (close, close, newline + body + newline + containerIndent);
        }
    }

    private static List<JsonObject> Configurations(LaunchJsonSettings s) =>
    [
        new()
        {
            ["name"] = LaunchJsonSettings.TunnelName,
            ["type"] = "debugpy",
            ["request"] = "attach",
            ["connect"] = new JsonObject { ["host"] = "localhost", ["port"] = Port(s.LocalPort, "localTunnelPort") },
            ["pathMappings"] = new JsonArray(new JsonObject { ["localRoot"] = "${workspaceFolder}", ["remoteRoot"] = s.RemoteRoot ?? "${input:remoteWorkspaceFolder}" }),
            ["justMyCode"] = true,
        },
        new()
        {
            ["name"] = LaunchJsonSettings.NodeName,
            ["type"] = "debugpy",
            ["request"] = "attach",
            ["connect"] = new JsonObject { ["host"] = s.Node ?? "${input:computeNodeHost}", ["port"] = Port(s.NodePort, "computeNodePort") },
            // Attaching to the node directly is what VS Code Remote-SSH on the login node does: the
            // workspace is the cluster's folder, so the mapping is the identity unless the job ran elsewhere.
            ["pathMappings"] = new JsonArray(new JsonObject { ["localRoot"] = "${workspaceFolder}", ["remoteRoot"] = s.RemoteRoot ?? "${workspaceFolder}" }),
            ["justMyCode"] = true,
        },
    ];

    /// <summary>A known port is written as a number (VS Code's schema wants one); an unknown one is an input prompt.</summary>
    private static JsonNode Port(int? port, string input) => port is { } p ? JsonValue.Create(p) : JsonValue.Create("${input:" + input + "}");

    private static List<JsonObject> Inputs(LaunchJsonSettings s) =>
    [
        Input("localTunnelPort", "Local port of the SSH tunnel (the LOCAL in `ssh -N -L LOCAL:NODE:PORT`, printed when the job started under the debugger)", (s.LocalPort ?? RdgDefaults.LocalPort).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Input("remoteWorkspaceFolder", "The job's Remote Path (printed when the job started under the debugger)", s.RemoteRoot ?? ""),
        Input("computeNodeHost", "The compute node (Node, printed when the job started under the debugger)", s.Node ?? ""),
        Input("computeNodePort", "The debugger port on the node (Port, printed when the job started under the debugger)", (s.NodePort ?? RdgDefaults.Port).ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    private static JsonObject Input(string id, string description, string @default) => new()
    {
        ["id"] = id,
        ["type"] = "promptString",
        ["description"] = description,
        ["default"] = @default,
    };

    private static string Quote(string s) => JsonValue.Create(s)!.ToJsonString();

    /// <summary>Indented JSON in the file's style; lines after the first are prefixed with <paramref name="indent"/>.</summary>
    private static string Format(JsonNode node, string indent, string unit, string newline)
    {
        var options = new JsonWriterOptions
        {
            Indented = true,
            IndentCharacter = unit.StartsWith('\t') ? '\t' : ' ',
            IndentSize = Math.Max(1, unit.Length),
            NewLine = newline,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, options)) node.WriteTo(writer);
        var text = Encoding.UTF8.GetString(stream.ToArray());
        return text.Replace(newline, newline + indent, StringComparison.Ordinal);
    }
}
