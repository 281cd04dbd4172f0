using Wand.Errors;
using Wand.Stacks;
using Wand.Transport.Local;

namespace Wand.Hpc;

/// <summary>
/// One Python process of a job on a node, as <c>rdg stacks</c> shows it: its rank (from the launcher's
/// variables in its environment) and its stacks read from memory (<see cref="Stacks"/>: text for people,
/// or with <c>json</c> the document of docs/stacks-json.md), or why they could not be read.
/// </summary>
public sealed record NodeStacks(int Pid, int? Rank, string? Stacks, string? Error)
{
    /// <summary>The stacks of every given process; one that cannot be read does not stop the others.</summary>
    public static IReadOnlyList<NodeStacks> Read(IEnumerable<NodeProcess> processes, ProcFs procfs, bool withLocals, bool json) =>
        [.. processes.Select(p =>
        {
            var environ = (procfs.TryReadText(p.Pid, "environ") ?? "").Split('\0')
                .Select(e => e.Split('=', 2)).Where(kv => kv.Length == 2).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1]);
            var rank = RankInfo.Detect(environ.GetValueOrDefault)?.Rank;
            try
            {
                var stacks = StackCapture.Capture(p.Pid, withLocals, procfs);
                return new NodeStacks(p.Pid, rank, json ? StacksJson.Write(stacks) : StacksText.Write(stacks), null);
            }
            catch (WandException e)
            {
                return new NodeStacks(p.Pid, rank, null, e.Message);
            }
        })];
}
