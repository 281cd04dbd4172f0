namespace Wand.Bench.Harness;

/// <summary>
/// Splits a candidate's wall time into phases from the outside: the arrival times of wand's own
/// progress lines on stderr (plain UI) mark the boundaries. A marker wand no longer prints is skipped.
/// </summary>
public sealed class Phases(params (string Label, string StderrPrefix)[] markers)
{
    private readonly Dictionary<string, Samples> _phases = [];
    private readonly List<string> _order = [];

    /// <summary>Records one run: markers found in <paramref name="stderr"/>, then the extra (label, clock reading) points, in order.</summary>
    public void Add(IReadOnlyList<(TimeSpan At, string Line)> stderr, params (string Label, TimeSpan At)[] then)
    {
        var points = new List<(string Label, TimeSpan At)>();
        foreach (var (label, prefix) in markers)
        {
            var hit = stderr.FirstOrDefault(l => l.Line.Contains(prefix, StringComparison.Ordinal));
            if (hit.Line is not null) points.Add((label, hit.At));
        }
        points.AddRange(then);
        points.Sort((a, b) => a.At.CompareTo(b.At)); // a point taken from outside may fall between two progress lines
        var previous = TimeSpan.Zero;
        foreach (var (label, at) in points)
        {
            if (!_phases.TryGetValue(label, out var samples))
            {
                _phases[label] = samples = new Samples(label);
                _order.Add(label);
            }
            samples.Add(at - previous);
            previous = at;
        }
    }

    public void Print(string title)
    {
        if (_order.Count == 0) return;
        Console.WriteLine();
        Report.Line(title);
        Report.Table([.. _order.Select(l => _phases[l])]);
    }
}
