using System.Text.Json;
using System.Text.Json.Serialization;

namespace Wand.Cli;

/// <summary>An enum as its camelCase name ("reloaderParent"), for source-generated contexts (which take converter types, not instances).</summary>
internal sealed class CamelCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.CamelCase)
    where TEnum : struct, Enum;
