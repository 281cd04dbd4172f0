namespace Wand.Bench.Harness;

/// <summary>Wall-clock timings of one measured thing, in milliseconds.</summary>
public sealed class Samples(string label)
{
    private readonly List<double> _ms = [];

    public string Label { get; } = label;

    public int Count => _ms.Count;

    public IReadOnlyList<double> Values => _ms;

    public void Add(TimeSpan elapsed) => _ms.Add(elapsed.TotalMilliseconds);

    public void Add(double milliseconds) => _ms.Add(milliseconds);

    public double Median => Percentile(50);

    public double Min => _ms.Count == 0 ? double.NaN : _ms.Min();

    public double Max => _ms.Count == 0 ? double.NaN : _ms.Max();

    /// <summary>Linear interpolation between closest ranks (the same definition as numpy's default).</summary>
    public double Percentile(double p)
    {
        if (_ms.Count == 0) return double.NaN;
        var sorted = _ms.Order().ToArray();
        var rank = p / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
