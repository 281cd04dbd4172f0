using System.Globalization;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>
/// What the editor configured on its connection (initialize and attach arguments, breakpoints per source,
/// exception filters, function breakpoints, configurationDone), kept so that a new backend is brought up to
/// it (<see cref="Plan"/>), and the ids and verification the editor was last told for each source's breakpoints.
/// </summary>
/// <remarks>Used only from its editor connection's work queue.</remarks>
internal sealed class EditorConfiguration
{
    private readonly Dictionary<string, JsonObject> _breakpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(int? Id, bool Verified)>> _told = new(StringComparer.Ordinal);
    private JsonObject? _exceptionBreakpoints;
    private JsonObject? _functionBreakpoints;

    /// <summary>The editor's <c>initialize</c> arguments, once it sent them.</summary>
    public JsonObject? Initialize { get; private set; }

    /// <summary>The editor's <c>attach</c> configuration (without wand's backend marker), once it was accepted.</summary>
    public JsonObject? Attach { get; private set; }

    /// <summary>Whether the editor said it can open child sessions (<c>startDebugging</c>).</summary>
    public bool SupportsStartDebugging => Initialize is { } arguments && DapJson.Bool(arguments, "supportsStartDebuggingRequest");

    /// <summary>Whether the editor sent <c>configurationDone</c> (a replay then sends it too).</summary>
    public bool ConfigurationDone { get; private set; }

    public void SetInitialize(JsonObject? arguments) => Initialize = arguments?.DeepClone().AsObject() ?? [];

    public void SetAttach(JsonObject arguments) => Attach = arguments;

    /// <summary>Keeps what a configuration request set, to replay it later; other commands are ignored.</summary>
    public void Record(string command, JsonObject? arguments)
    {
        switch (command)
        {
            case "setBreakpoints" when arguments is not null && arguments["source"] is JsonObject source:
                var key = SourceKey(source);
                if (arguments["breakpoints"] is JsonArray { Count: > 0 } || arguments["lines"] is JsonArray { Count: > 0 })
                    _breakpoints[key] = arguments.DeepClone().AsObject();
                else _breakpoints.Remove(key); // cleared: nothing to replay
                break;
            case "setExceptionBreakpoints":
                _exceptionBreakpoints = arguments?.DeepClone().AsObject() ?? new JsonObject { ["filters"] = new JsonArray() };
                break;
            case "setFunctionBreakpoints":
                _functionBreakpoints = arguments?.DeepClone().AsObject() ?? new JsonObject { ["breakpoints"] = new JsonArray() };
                break;
            case "configurationDone":
                ConfigurationDone = true;
                break;
        }
    }

    /// <summary>A copy of everything recorded, for a replay of <paramref name="kind"/> (later changes are queued behind it).</summary>
    public ReplayPlan Plan(ReplayKind kind) => new(kind, Initialize?.DeepClone().AsObject(), Attach?.DeepClone().AsObject(),
        [.. _breakpoints.Values.Select(b => b.DeepClone().AsObject())],
        _exceptionBreakpoints?.DeepClone().AsObject(), _functionBreakpoints?.DeepClone().AsObject(), ConfigurationDone);

    /// <summary>The ids and verification the editor was last told for the breakpoints of one source.</summary>
    public void Remember(string sourceKey, JsonObject body) =>
        _told[sourceKey] = [.. DapJson.Objects(body, "breakpoints").Select(b => (DapJson.Int(b, "id"), DapJson.Bool(b, "verified")))];

    /// <summary>What <see cref="Remember"/> kept for <paramref name="sourceKey"/>, in the editor's order (empty if nothing).</summary>
    public IReadOnlyList<(int? Id, bool Verified)> Told(string sourceKey) => _told.GetValueOrDefault(sourceKey) ?? [];

    /// <summary>Breakpoints are kept per source: its path, else its reference, else its name.</summary>
    public static string SourceKey(JsonObject source)
    {
        if (DapJson.String(source, "path") is { } path) return path;
        if (DapJson.Int(source, "sourceReference") is { } reference) return "#" + reference.ToString(CultureInfo.InvariantCulture);
        return DapJson.String(source, "name") ?? "";
    }
}
