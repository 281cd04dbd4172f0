namespace Wand.Transport.Local;

/// <summary>One line of /proc/PID/maps.</summary>
public sealed record ProcMapsEntry(ulong Start, ulong End, string Perms, ulong Offset, uint DevMajor, uint DevMinor, ulong Inode, string Path)
{
    public bool IsFile => Inode != 0 && Path.StartsWith('/');
    public bool IsWritable => Perms.Length > 1 && Perms[1] == 'w';
    public string FileName => System.IO.Path.GetFileName(Path);

    /// <summary>
    /// Parses the text of /proc/PID/maps. Lines that do not parse are skipped: the file is
    /// produced by the kernel, and a partial list is more useful than none.
    /// </summary>
    public static IReadOnlyList<ProcMapsEntry> ParseAll(string text)
    {
        var result = new List<ProcMapsEntry>();
        foreach (var line in text.Split('\n'))
            if (TryParse(line, out var e)) result.Add(e);
        return result;
    }

    public static bool TryParse(string line, out ProcMapsEntry entry)
    {
        entry = null!;
        // address perms offset dev inode [path]; the path may contain spaces, and " (deleted)".
        var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 5) return false;
        var range = parts[0].Split('-');
        var dev = parts[3].Split(':');
        if (range.Length != 2 || dev.Length != 2) return false;
        if (!ulong.TryParse(range[0], System.Globalization.NumberStyles.HexNumber, null, out var start)
            || !ulong.TryParse(range[1], System.Globalization.NumberStyles.HexNumber, null, out var end)
            || !ulong.TryParse(parts[2], System.Globalization.NumberStyles.HexNumber, null, out var offset)
            || !uint.TryParse(dev[0], System.Globalization.NumberStyles.HexNumber, null, out var major)
            || !uint.TryParse(dev[1], System.Globalization.NumberStyles.HexNumber, null, out var minor)
            || !ulong.TryParse(parts[4], out var inode))
            return false;
        var path = parts.Length > 5 ? parts[5].Trim() : "";
        entry = new ProcMapsEntry(start, end, parts[1], offset, major, minor, inode, path);
        return true;
    }
}
