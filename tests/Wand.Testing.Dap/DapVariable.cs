namespace Wand.Session.Dap;

/// <summary>One variable of a <c>variables</c> response.</summary>
/// <param name="Name">Its name, e.g. <c>n</c>.</param>
/// <param name="Value">Its value rendered as text by the adapter, e.g. <c>3</c>.</param>
/// <param name="Type">Its type name (e.g. <c>int</c>), when the adapter sends one.</param>
/// <param name="VariablesReference">Non-zero when it has children to fetch with <c>variables</c>.</param>
public sealed record DapVariable(string Name, string Value, string? Type, int VariablesReference);
