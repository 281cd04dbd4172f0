namespace Wand.Hpc;

/// <summary>One line of <c>squeue</c>: id, name, state, elapsed time, node list (compressed, e.g. node[01-04]).</summary>
public sealed record SlurmJob(string Id, string Name, string State, string Time, string NodeList)
{
    /// <summary>Parses <c>squeue -h -o '%i|%j|%T|%M|%N'</c> output.</summary>
    public static IReadOnlyList<SlurmJob> ParseSqueue(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('|'))
            .Where(f => f.Length >= 5)
            .Select(f => new SlurmJob(f[0], f[1], f[2], f[3], string.Join('|', f[4..])))];
}
