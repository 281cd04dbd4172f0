using System.Globalization;

namespace Wand.Discovery;

/// <summary>User names by uid from an /etc/passwd text (name:password:uid:gid:gecos:home:shell).</summary>
public static class PasswdFile
{
    /// <summary>Parses the text; malformed lines and comments are skipped, and the first entry for a uid wins (as getpwuid does).</summary>
    public static IReadOnlyDictionary<int, string> Parse(string text)
    {
        var names = new Dictionary<int, string>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var fields = line.Split(':');
            if (fields.Length < 3 || fields[0].Length == 0) continue;
            if (int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)) names.TryAdd(uid, fields[0]);
        }
        return names;
    }

    /// <summary>Reads <paramref name="path"/>; an unreadable file gives no names (callers fall back to numbers).</summary>
    public static IReadOnlyDictionary<int, string> Read(string path = "/etc/passwd")
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new Dictionary<int, string>();
        }
    }
}
