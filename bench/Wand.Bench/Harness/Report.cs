using System.Globalization;

namespace Wand.Bench.Harness;

/// <summary>The verdict of one benchmark against the target from its issue (null when it has none).</summary>
public sealed record Verdict(string Benchmark, bool? Pass);

/// <summary>Prints timings as aligned tables (invariant culture, milliseconds).</summary>
public static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Title(string text)
    {
        Console.WriteLine();
        Console.WriteLine(text);
        Console.WriteLine(new string('=', Math.Min(text.Length, 100)));
    }

    public static void Table(params Samples[] rows)
    {
        var width = Math.Max(12, rows.Max(r => r.Label.Length));
        Console.WriteLine($"  {"".PadRight(width)}  {"n",3}  {"median",9}  {"p10",9}  {"p90",9}  {"min",9}  {"max",9}");
        foreach (var r in rows)
            Console.WriteLine($"  {r.Label.PadRight(width)}  {r.Count,3}  {Ms(r.Median)}  {Ms(r.Percentile(10))}  {Ms(r.Percentile(90))}  {Ms(r.Min)}  {Ms(r.Max)}");
    }

    /// <summary>The ratio of medians, and the median of the per-pair ratios (candidate i / floor i, measured back to back).</summary>
    public static double Ratio(Samples candidate, Samples floor)
    {
        Console.WriteLine($"  {candidate.Label}:");
        var ratio = candidate.Median / floor.Median;
        var paired = new Samples("paired");
        for (var i = 0; i < Math.Min(candidate.Count, floor.Count); i++) paired.Add(candidate.Values[i] / floor.Values[i]);
        Console.WriteLine($"    ratio candidate/floor (medians): {X(ratio)}   (median of paired ratios: {X(paired.Median)}, p10 {X(paired.Percentile(10))}, p90 {X(paired.Percentile(90))})");
        return ratio;
    }

    public static void Line(string text) => Console.WriteLine("  " + text);

    public static string Ms(double ms) => (double.IsNaN(ms) ? "-" : ms.ToString("0.0", Inv) + " ms").PadLeft(9);

    public static string X(double ratio) => ratio.ToString("0.00", Inv) + "x";

    public static string F(double value, string format = "0.0") => value.ToString(format, Inv);

    public static string PassMiss(bool pass) => pass ? "PASS" : "MISS";
}
