using System.Text.Json.Serialization;
using Wand.Cli.Commands;
using Wand.Discovery;
using Wand.Injection.Debugpy;

namespace Wand.Cli;

/// <summary>
/// Source-generated JSON for what the CLI prints: wand is a NativeAOT executable, where reflection-based
/// serialization does not work (and under the JIT it cost tens of milliseconds at start-up).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    Converters = [typeof(CamelCaseEnumConverter<ProcessRole>), typeof(CamelCaseEnumConverter<AttachState>)])]
[JsonSerializable(typeof(DebugpyEndpoint))]
[JsonSerializable(typeof(List<PsCommand.PsJson>))]
internal sealed partial class CliJson : JsonSerializerContext;
