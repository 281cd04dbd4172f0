using System.Globalization;
using System.Net;

namespace Wand.Transport.Local;

/// <summary>A TCP socket in LISTEN state, from /proc/net/tcp or /proc/net/tcp6.</summary>
public sealed record ListeningSocket(IPAddress Address, int Port, ulong Inode)
{
    /// <summary>Parses the text of /proc/net/tcp or tcp6 and keeps the LISTEN (0A) entries.</summary>
    public static IReadOnlyList<ListeningSocket> ParseAll(string text)
    {
        var result = new List<ListeningSocket>();
        foreach (var line in text.Split('\n').Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || f[3] != "0A") continue;
            var colon = f[1].IndexOf(':');
            if (colon < 0 || !int.TryParse(f[1].AsSpan(colon + 1), NumberStyles.HexNumber, null, out var port)
                || !ulong.TryParse(f[9], out var inode) || ParseAddress(f[1][..colon]) is not { } address)
                continue;
            result.Add(new ListeningSocket(address, port, inode));
        }
        return result;
    }

    /// <summary>The kernel prints addresses as 32-bit words in host (little-endian) order.</summary>
    private static IPAddress? ParseAddress(string hex)
    {
        if (hex.Length is not (8 or 32)) return null;
        var bytes = new byte[hex.Length / 2];
        for (var word = 0; word < bytes.Length / 4; word++)
            for (var i = 0; i < 4; i++)
                if (!byte.TryParse(hex.AsSpan(word * 8 + (3 - i) * 2, 2), NumberStyles.HexNumber, null, out bytes[word * 4 + i])) return null;
        return new IPAddress(bytes);
    }
}
