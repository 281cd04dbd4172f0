using System.Globalization;
using System.Text;

namespace Wand.Stacks;

/// <summary>The human form of <see cref="ProcessStacks"/> (<c>wand stacks</c>, <c>rdg stacks</c>).</summary>
public static class StacksText
{
    /// <summary>The human form: one block per Python thread, frames innermost last, then the other OS threads in one line each.</summary>
    public static string Write(ProcessStacks stacks)
    {
        var b = new StringBuilder();
        b.Append($"PID {stacks.Pid}, Python {stacks.PythonVersion} (read from memory; frames innermost last)\n");
        if (stacks.StoppedFor is { } stopped)
            b.Append(CultureInfo.InvariantCulture, $"Every thread was stopped for {stopped.TotalMilliseconds:0.0} ms while it was read (a consistent read)\n");
        foreach (var t in stacks.Threads.Where(t => t.Python is not null))
        {
            var p = t.Python!;
            b.Append($"\nThread {t.Tid} {Name(t)}{(p.InterpreterId != 0 ? $" (interpreter {p.InterpreterId})" : "")}: ");
            b.Append(p.HoldsGil ? "holds the GIL" : "does not hold the GIL");
            b.Append($"; native: {t.Native}\n");
            if (p.Frames.Count == 0 && p.Problem is null) b.Append("    (no Python frames)\n");
            foreach (var f in p.Frames)
            {
                b.Append($"    {f.File}:{f.Line?.ToString(CultureInfo.InvariantCulture) ?? "?"} {f.Function}\n");
                foreach (var l in f.Locals ?? [])
                    b.Append($"        {l.Name}: {l.Type}{(l.Value is null ? "" : $" = {l.Value}")}{(l.Length is { } n ? $" (len {n})" : "")}\n");
            }
            if (p.Problem is not null) b.Append($"    ({p.Problem})\n");
        }
        var others = stacks.Threads.Where(t => t.Python is null).ToList();
        if (others.Count > 0)
        {
            b.Append($"\n{others.Count} OS thread{(others.Count == 1 ? "" : "s")} without a Python thread state:\n");
            foreach (var t in others) b.Append($"    {t.Tid} {Name(t)}: {t.Native}\n");
        }
        return b.ToString();
    }

    private static string Name(ThreadStack t) => t.NameSource switch
    {
        ThreadNameSource.Thread => $"\"{t.Name}\"",
        ThreadNameSource.Process => $"\"{t.Name}\" (process name)",
        _ => "(gone)",
    };
}
