namespace Wand.Hpc;

/// <summary>The result of editing a launch.json text: the new text, whether it differs, and what the user should know.</summary>
public sealed record LaunchJsonEdit(string Text, bool Changed, IReadOnlyList<string> Notes);
