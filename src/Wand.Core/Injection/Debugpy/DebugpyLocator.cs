namespace Wand.Injection.Debugpy;

/// <summary>
/// Finds a debugpy package on this machine to lend to a target that has none: an explicit path, the
/// WAND_DEBUGPY variable, the copy bundled with VS Code's Python Debugger extension, or the
/// site-packages of a local Python. Returns the folder that contains <c>__init__.py</c>.
/// </summary>
public sealed class DebugpyLocator(string? home, Func<string, string?> environment)
{
    public static DebugpyLocator Default { get; } = new(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), Environment.GetEnvironmentVariable);

    /// <summary>The places looked at, in order (globs expanded), for the error message.</summary>
    public IReadOnlyList<string> SearchPatterns(string? explicitPath) =>
    [
        .. explicitPath is null ? [] : new[] { explicitPath },
        .. environment("WAND_DEBUGPY") is { Length: > 0 } env ? new[] { env } : [],
        .. home is { Length: > 0 }
            ? new[] { ".vscode", ".vscode-server", ".vscode-insiders", ".vscode-server-insiders", ".cursor", ".cursor-server", ".windsurf" }
                .Select(d => $"{home}/{d}/extensions/ms-python.debugpy-*/bundled/libs/debugpy")
                .Concat([$"{home}/.local/lib/python3*/site-packages/debugpy", $"{home}/.pyenv/versions/*/lib/python3*/site-packages/debugpy"])
            : [],
        "/usr/local/lib/python3*/site-packages/debugpy",
        "/usr/lib/python3/dist-packages/debugpy",
        "/usr/lib/python3*/site-packages/debugpy",
    ];

    public string? Find(string? explicitPath)
    {
        foreach (var pattern in SearchPatterns(explicitPath))
            foreach (var candidate in Expand(pattern).OrderByDescending(NaturalKey, StringComparer.Ordinal))
            {
                var dir = Path.GetFileName(candidate) == "debugpy" ? candidate : Path.Combine(candidate, "debugpy");
                if (File.Exists(Path.Combine(dir, "__init__.py")) && Directory.Exists(Path.Combine(dir, "_vendored"))) return dir;
            }
        return null;
    }

    /// <summary>Numbers padded so that ms-python.debugpy-2025.10.0 sorts after 2025.9.0.</summary>
    private static string NaturalKey(string path) =>
        System.Text.RegularExpressions.Regex.Replace(path, @"\d+", m => m.Value.PadLeft(10, '0'));

    /// <summary>Expands '*' in any path segment (no recursion beyond the given segments).</summary>
    private static IEnumerable<string> Expand(string pattern)
    {
        IEnumerable<string> current = ["/"];
        foreach (var segment in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = segment.Contains('*')
                ? current.SelectMany(dir => Directory.Exists(dir) ? SafeEnumerate(dir, segment) : [])
                : current.Select(dir => Path.Combine(dir, segment));
        }
        return current.Where(Directory.Exists);
    }

    private static IEnumerable<string> SafeEnumerate(string dir, string pattern)
    {
        try
        {
            return Directory.GetDirectories(dir, pattern);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
