using System.Text.Json;
using System.Text.Json.Serialization;

namespace Wand.Hpc;

/// <summary>
/// rdg's JSON (camelCase): the session records and what <c>rdg node</c> answers on a compute node. Source-generated,
/// because rdg is a NativeAOT executable, where reflection-based serialization does not work.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SessionRecord))]
[JsonSerializable(typeof(NodeEndpoint))]
[JsonSerializable(typeof(IReadOnlyList<NodeProcess>))]
[JsonSerializable(typeof(IReadOnlyList<NodeStacks>))]
public sealed partial class HpcJson : JsonSerializerContext
{
    /// <summary>The same, indented: the session record files are read by people too.</summary>
    public static HpcJson Indented { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
}
