namespace Wand.Hpc;

/// <summary>What <see cref="LaunchJsonFile.Update"/> did.</summary>
/// <param name="Created">There was no launch.json: a new one was written.</param>
/// <param name="Changed">The file's bytes changed.</param>
/// <param name="BackupPath">The file could not be parsed: its old content was copied here before a new file was written.</param>
/// <param name="ParseError">Why it could not be parsed.</param>
public sealed record LaunchJsonOutcome(string Path, bool Created, bool Changed, string? BackupPath, string? ParseError, IReadOnlyList<string> Notes);
