using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Wand.Testing.KubeApi.Spdy;

/// <summary>
/// SPDY/3 header blocks (draft-mbelshe-httpbis-spdy-00 §2.6.10): one zlib stream per direction and
/// connection, primed with SPDY's dictionary. .NET's zlib streams take no preset dictionary, so the
/// client's blocks are inflated as raw deflate behind a stored block holding the dictionary: its
/// back-references then reach the same 32 KiB history zlib's preset gives them. Replies are sent as
/// stored (uncompressed) blocks, which any zlib reader accepts without the dictionary.
/// </summary>
internal sealed class SpdyHeaderCodec
{
    /// <summary>SPDY/3's header dictionary (moby/spdystream spdy/dictionary.go, the draft's appendix).</summary>
    private static readonly byte[] Dictionary = Convert.FromBase64String(
        "AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==");

    private readonly MemoryStream _compressed = new();
    private int _consumed;
    private bool _sawZlibHeader;
    private bool _wroteZlibHeader;

    public SpdyHeaderCodec()
    {
        // A non-final stored block with the dictionary (BFINAL=0, BTYPE=00, LEN, NLEN).
        var len = (ushort)Dictionary.Length;
        _compressed.Write([0, (byte)len, (byte)(len >> 8), (byte)~len, (byte)(~len >> 8)]);
        _compressed.Write(Dictionary);
        _consumed = Dictionary.Length;
    }

    /// <summary>Inflates the client's next header block (the stream goes on across frames: sync-flushed, never finished).</summary>
    public Dictionary<string, string> Read(ReadOnlySpan<byte> block)
    {
        if (!_sawZlibHeader)
        {
            // zlib header (CMF, FLG), and the dictionary's Adler-32 when FLG.FDICT is set.
            var skip = (block[1] & 0x20) != 0 ? 6 : 2;
            block = block[skip..];
            _sawZlibHeader = true;
        }
        _compressed.Write(block);
        // Inflating from the start each time keeps this simple; header blocks are few and small.
        using var inflater = new DeflateStream(new MemoryStream(_compressed.GetBuffer(), 0, (int)_compressed.Length), CompressionMode.Decompress);
        var all = new MemoryStream();
        inflater.CopyTo(all);
        var fresh = all.GetBuffer().AsSpan(_consumed, (int)all.Length - _consumed);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var count = BinaryPrimitives.ReadInt32BigEndian(fresh);
        var at = 4;
        for (var i = 0; i < count; i++)
        {
            var nameLength = BinaryPrimitives.ReadInt32BigEndian(fresh[at..]);
            var name = Encoding.UTF8.GetString(fresh.Slice(at + 4, nameLength));
            at += 4 + nameLength;
            var valueLength = BinaryPrimitives.ReadInt32BigEndian(fresh[at..]);
            headers[name] = Encoding.UTF8.GetString(fresh.Slice(at + 4, valueLength)).Replace('\0', ',');
            at += 4 + valueLength;
        }
        _consumed += at;
        return headers;
    }

    /// <summary>An empty header block for a SYN_REPLY: the zlib header once, then a stored block holding "0 headers" and a sync marker.</summary>
    public byte[] EmptyBlock()
    {
        var block = new List<byte>();
        if (!_wroteZlibHeader)
        {
            block.AddRange([0x78, 0x01]); // deflate, 32 KiB window, no dictionary needed for stored blocks
            _wroteZlibHeader = true;
        }
        block.AddRange([0, 4, 0, 0xfb, 0xff, 0, 0, 0, 0]);
        // An empty stored block, as zlib's Z_SYNC_FLUSH ends each block: Go's flate reader hands out a
        // stored block's bytes only at the next block, and must find that within this frame (spdystream
        // checks the frame's header bytes are used up).
        block.AddRange([0, 0, 0, 0xff, 0xff]);
        return [.. block];
    }
}
