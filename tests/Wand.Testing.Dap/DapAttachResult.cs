using System.Text.Json.Nodes;

namespace Wand.Session.Dap;

/// <summary>What <see cref="DapSession.AttachAsync"/> learned while attaching.</summary>
/// <param name="Capabilities">The body of the <c>initialize</c> response.</param>
/// <param name="Breakpoints">Per source path (as given), the breakpoints the adapter reported, in request order.</param>
public sealed record DapAttachResult(JsonObject Capabilities, IReadOnlyDictionary<string, IReadOnlyList<DapBreakpoint>> Breakpoints);
