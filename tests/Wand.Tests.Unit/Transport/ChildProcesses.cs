namespace Wand.Tests.Unit.Transport;

/// <summary>Finds a real <c>sleep</c> child by its unique argument in /proc (tests wait on it with <c>Eventually</c>).</summary>
internal static class ChildProcesses
{
    /// <summary>A sleep duration no other process uses (GNU sleep takes fractions), long enough to outlive any test.</summary>
    public static string UniqueSleep() => $"1000.{Random.Shared.Next(100000, 999999)}";

    /// <summary>PIDs whose argv is exactly <c>sleep <paramref name="seconds"/></c> (a zombie's cmdline is empty: it does not count).</summary>
    public static IReadOnlyList<int> Sleeping(string seconds)
    {
        var wanted = $"sleep\0{seconds}\0";
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline.EndsWith(wanted, StringComparison.Ordinal) && Path.GetFileName(cmdline.Split('\0')[0]) == "sleep") found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the process ended while we looked
            }
        }
        return found;
    }
}
