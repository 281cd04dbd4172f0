namespace Wand.Transport.Local;

/// <summary>The fields wand uses from /proc/PID/status: real and effective uid/gid, the namespaced PIDs and the tracer.</summary>
public sealed record ProcStatus(int Uid, int EffectiveUid, int Gid, int EffectiveGid, IReadOnlyList<int> NamespacePids)
{
    /// <summary>The PID of the process tracing this one (ptrace), 0 when none.</summary>
    public int TracerPid { get; init; }

    public static ProcStatus? Parse(string text)
    {
        int[]? uid = null, gid = null;
        IReadOnlyList<int> nspid = [];
        var tracer = 0;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon];
            var values = line[(colon + 1)..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            switch (key)
            {
                case "Uid": uid = ParseInts(values); break;
                case "Gid": gid = ParseInts(values); break;
                case "NSpid": nspid = ParseInts(values) ?? []; break;
                case "TracerPid": tracer = ParseInts(values) is [var t] ? t : 0; break;
            }
        }
        if (uid is not { Length: >= 2 } || gid is not { Length: >= 2 }) return null;
        return new ProcStatus(uid[0], uid[1], gid[0], gid[1], nspid) { TracerPid = tracer };
    }

    private static int[]? ParseInts(string[] values)
    {
        var result = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
            if (!int.TryParse(values[i], out result[i])) return null;
        return result;
    }
}
