using System.Text.Json.Nodes;

namespace Wand.Session.Proxy;

/// <summary>How much of the editor's conversation a new backend connection is brought up to before requests flow.</summary>
internal enum ReplayKind
{
    /// <summary>Only connect: the editor's own <c>initialize</c> goes through next.</summary>
    None,

    /// <summary>Replay <c>initialize</c> (the editor already has its answer); the editor's own <c>attach</c> goes through next.</summary>
    Initialize,

    /// <summary>Replay everything up to <c>configurationDone</c>: the editor's session continues on a new process.</summary>
    Full,
}

/// <summary>A copy of what the editor configured, taken when a replay starts (later changes are queued behind it).</summary>
internal sealed record ReplayPlan(
    ReplayKind Kind,
    JsonObject? InitializeArguments,
    JsonObject? AttachArguments,
    IReadOnlyList<JsonObject> SetBreakpoints,
    JsonObject? SetExceptionBreakpoints,
    JsonObject? SetFunctionBreakpoints,
    bool ConfigurationDone);
