namespace Wand.Bench.Harness;

/// <summary>
/// One build of a tool to measure: an executable (the NativeAOT one users install on linux-x64) started as
/// is, or a framework-dependent <c>.dll</c> started as <c>dotnet DLL</c>.
/// </summary>
public sealed record Candidate(string Label, string Location)
{
    public bool IsDll => Location.EndsWith(".dll", StringComparison.Ordinal);

    /// <summary>The program to start.</summary>
    public string Program => IsDll ? BenchEnv.Dotnet : Location;

    /// <summary>The program's arguments for the tool's own <paramref name="args"/>.</summary>
    public string[] Args(params string[] args) => IsDll ? [Location, .. args] : args;

    public override string ToString() => IsDll ? $"dotnet {Location}" : Location;

    /// <summary>Parses <c>LABEL=PATH</c> or <c>PATH</c> (labelled after its folder); a folder means its wand.dll, else its wand.</summary>
    public static Candidate Parse(string spec)
    {
        var eq = spec.IndexOf('=');
        var path = Path.GetFullPath(eq > 0 ? spec[(eq + 1)..] : spec);
        if (Directory.Exists(path)) path = File.Exists(Path.Combine(path, "wand.dll")) ? Path.Combine(path, "wand.dll") : Path.Combine(path, "wand");
        var label = eq > 0 ? spec[..eq] : Path.GetFileName(Path.GetDirectoryName(path));
        if (string.IsNullOrEmpty(label)) label = path;
        return new Candidate(label, path);
    }
}
