using System.Text;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// Splits a stream of concatenated JSON documents into documents, as `kubectl get -o json --watch`
/// prints them: each event is one indented document (json.MarshalIndent), not one line, so lines are
/// no boundary; a document ends where its outermost object closes, strings and escapes considered.
/// </summary>
public sealed class JsonDocumentSplitter
{
    private readonly StringBuilder _current = new();
    private int _depth;
    private bool _inString;
    private bool _escaped;

    /// <summary>Feeds text as it arrives; returns the documents it completed.</summary>
    public IReadOnlyList<string> Feed(ReadOnlySpan<char> text)
    {
        List<string>? done = null;
        foreach (var c in text)
        {
            if (_depth == 0 && c != '{' && c != '[') continue; // whitespace between documents
            _current.Append(c);
            if (_inString)
            {
                if (_escaped) _escaped = false;
                else if (c == '\\') _escaped = true;
                else if (c == '"') _inString = false;
                continue;
            }
            switch (c)
            {
                case '"':
                    _inString = true;
                    break;
                case '{' or '[':
                    _depth++;
                    break;
                case '}' or ']':
                    if (--_depth == 0)
                    {
                        (done ??= []).Add(_current.ToString());
                        _current.Clear();
                    }
                    break;
            }
        }
        return done ?? (IReadOnlyList<string>)[];
    }
}
