namespace Wand.Bench.Harness;

/// <summary>One build of wand to measure: <c>dotnet Dll ...</c>.</summary>
public sealed record Candidate(string Label, string Dll)
{
    /// <summary>Parses <c>LABEL=PATH</c> or <c>PATH</c> (labelled after its folder).</summary>
    public static Candidate Parse(string spec)
    {
        var eq = spec.IndexOf('=');
        var path = Path.GetFullPath(eq > 0 ? spec[(eq + 1)..] : spec);
        if (Directory.Exists(path)) path = Path.Combine(path, "wand.dll");
        var label = eq > 0 ? spec[..eq] : Path.GetFileName(Path.GetDirectoryName(path));
        if (string.IsNullOrEmpty(label)) label = path;
        return new Candidate(label, path);
    }
}
