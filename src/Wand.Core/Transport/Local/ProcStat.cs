namespace Wand.Transport.Local;

/// <summary>The fields wand uses from /proc/PID/stat (see proc(5)).</summary>
public sealed record ProcStat(int Pid, string Comm, char State, int ParentPid, ulong UserTicks, ulong SystemTicks, ulong StartTicks, long RssPages, int Threads)
{
    public static ProcStat? Parse(string text)
    {
        // comm is in parentheses and may itself contain spaces and ')': split at the last ')'.
        var open = text.IndexOf('(');
        var close = text.LastIndexOf(')');
        if (open <= 0 || close < open || close + 2 > text.Length) return null;
        if (!int.TryParse(text.AsSpan(0, open).Trim(), out var pid)) return null;
        var rest = text[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // rest[0] is field 3 (state); field N is rest[N - 3].
        if (rest.Length < 22) return null;
        try
        {
            return new ProcStat(pid, text[(open + 1)..close], rest[0][0], int.Parse(rest[1]),
                ulong.Parse(rest[11]), ulong.Parse(rest[12]), ulong.Parse(rest[19]), long.Parse(rest[21]), int.Parse(rest[17]));
        }
        catch (FormatException)
        {
            return null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}
