namespace Wand.Session.Dap;

/// <summary>One breakpoint as the adapter reported it back from <c>setBreakpoints</c>.</summary>
/// <param name="Verified">Whether the adapter could place it (debugpy may verify it later, through a <c>breakpoint</c> event).</param>
/// <param name="Line">The line it was placed on, which may differ from the one asked for.</param>
/// <param name="Message">Why it is not verified, when the adapter says.</param>
/// <param name="Id">The adapter's id for it, used by later <c>breakpoint</c> events.</param>
public sealed record DapBreakpoint(bool Verified, int? Line, string? Message, int? Id);
