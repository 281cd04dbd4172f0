using System.Text;
using System.Text.Json;

namespace Wand.Hpc;

/// <summary>
/// The structure of a JSONC text (JSON with comments and trailing commas, as VS Code writes
/// launch.json) as byte spans, so that edits can touch only the bytes they mean to and leave the
/// user's comments, commas and layout alone. Parsing is System.Text.Json's own reader with comments
/// skipped and trailing commas allowed; offsets are into the UTF-8 bytes (BOM removed).
/// </summary>
internal sealed class JsoncText
{
    public static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public JsoncText(byte[] utf8) => Bytes = utf8;

    public byte[] Bytes { get; }

    /// <summary>A value: [Start, End) covers it from its first to its last byte.</summary>
    public readonly record struct Span(int Start, int End);

    /// <summary>A member of an object: the span runs from the name's opening quote to the end of the value.</summary>
    public readonly record struct Member(string Name, Span Whole, Span Value);

    /// <summary>Throws <see cref="JsonException"/> when the text is not JSONC.</summary>
    public static JsoncText Parse(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        using var _ = JsonDocument.Parse(bytes, DocumentOptions);
        return new JsoncText(bytes);
    }

    public string Slice(Span span) => Encoding.UTF8.GetString(Bytes, span.Start, span.End - span.Start);

    public Span Root()
    {
        var reader = new Utf8JsonReader(Bytes, ReaderOptions);
        reader.Read();
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        return new Span(start, (int)reader.BytesConsumed);
    }

    public JsonValueKind KindAt(Span span) => Bytes[span.Start] switch
    {
        (byte)'{' => JsonValueKind.Object,
        (byte)'[' => JsonValueKind.Array,
        (byte)'"' => JsonValueKind.String,
        _ => JsonValueKind.Undefined,
    };

    public List<Member> Members(Span obj)
    {
        var reader = new Utf8JsonReader(Bytes.AsSpan(obj.Start, obj.End - obj.Start), ReaderOptions);
        reader.Read(); // {
        var members = new List<Member>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            var nameStart = obj.Start + (int)reader.TokenStartIndex;
            reader.Read();
            var valueStart = obj.Start + (int)reader.TokenStartIndex;
            reader.Skip();
            var end = obj.Start + (int)reader.BytesConsumed;
            members.Add(new Member(name, new Span(nameStart, end), new Span(valueStart, end)));
        }
        return members;
    }

    public List<Span> Elements(Span array)
    {
        var reader = new Utf8JsonReader(Bytes.AsSpan(array.Start, array.End - array.Start), ReaderOptions);
        reader.Read(); // [
        var elements = new List<Span>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = array.Start + (int)reader.TokenStartIndex;
            reader.Skip();
            elements.Add(new Span(start, array.Start + (int)reader.BytesConsumed));
        }
        return elements;
    }

    /// <summary>True when a comma follows <paramref name="position"/> before the next value or closing bracket (comments skipped).</summary>
    public bool CommaFollows(int position)
    {
        for (var i = position; i < Bytes.Length; i++)
        {
            var b = Bytes[i];
            if (b == (byte)',') return true;
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') continue;
            if (b == (byte)'/' && i + 1 < Bytes.Length && Bytes[i + 1] == (byte)'/')
            {
                while (i < Bytes.Length && Bytes[i] != (byte)'\n') i++;
                continue;
            }
            if (b == (byte)'/' && i + 1 < Bytes.Length && Bytes[i + 1] == (byte)'*')
            {
                i += 2;
                while (i + 1 < Bytes.Length && !(Bytes[i] == (byte)'*' && Bytes[i + 1] == (byte)'/')) i++;
                i++;
                continue;
            }
            return false;
        }
        return false;
    }

    /// <summary>The whitespace that starts the line of <paramref name="position"/>, or null when something else precedes it on that line.</summary>
    public string? LineIndent(int position)
    {
        var lineStart = LineStart(position);
        for (var i = lineStart; i < position; i++)
            if (Bytes[i] is not ((byte)' ' or (byte)'\t')) return null;
        return Encoding.UTF8.GetString(Bytes, lineStart, position - lineStart);
    }

    public int LineStart(int position)
    {
        var i = position;
        while (i > 0 && Bytes[i - 1] != (byte)'\n') i--;
        return i;
    }

    /// <summary>True when the span contains a comment (which a rewrite of that span would lose).</summary>
    public bool HasComment(Span span)
    {
        var reader = new Utf8JsonReader(Bytes.AsSpan(span.Start, span.End - span.Start),
            new JsonReaderOptions { CommentHandling = JsonCommentHandling.Allow, AllowTrailingCommas = true });
        while (reader.Read())
            if (reader.TokenType == JsonTokenType.Comment) return true;
        return false;
    }

    /// <summary>The file's indentation unit: the leading whitespace of its first indented line (four spaces when none).</summary>
    public string IndentUnit()
    {
        var text = Encoding.UTF8.GetString(Bytes);
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.TrimStart(' ', '\t');
            if (trimmed.Length == 0 || trimmed.Length == line.Length) continue;
            var lead = line[..^trimmed.Length];
            return lead.Contains('\t') ? "\t" : lead;
        }
        return "    ";
    }

    public string NewLine() => Encoding.UTF8.GetString(Bytes).Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
}
