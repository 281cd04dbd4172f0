using System.Text.Json.Serialization;
using Wand.Injection.Debugpy;

namespace Wand.Cli;

/// <summary>Source-generated JSON for what the CLI prints: no reflection at start-up (it cost tens of milliseconds).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(DebugpyEndpoint))]
internal sealed partial class CliJson : JsonSerializerContext;
