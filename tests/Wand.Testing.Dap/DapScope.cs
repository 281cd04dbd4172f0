namespace Wand.Session.Dap;

/// <summary>One scope of a frame (e.g. <c>Locals</c>, <c>Globals</c>).</summary>
/// <param name="Name">The scope's name as the adapter shows it.</param>
/// <param name="VariablesReference">The reference to pass to <c>variables</c>.</param>
/// <param name="Expensive">Whether the adapter warns that fetching its variables is costly.</param>
public sealed record DapScope(string Name, int VariablesReference, bool Expensive);
