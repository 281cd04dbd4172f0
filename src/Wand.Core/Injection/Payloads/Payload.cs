using System.Reflection;

namespace Wand.Injection.Payloads;

/// <summary>The Python files wand injects, embedded in the assembly (Injection/Payloads/*.py).</summary>
public static class Payload
{
    public const string Exec = "exec_capture.py";
    public const string Debugpy = "debugpy_bootstrap.py";

    public static string Read(string fileName)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Wand.Payloads.{fileName}")
            ?? throw new InvalidOperationException($"payload {fileName} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The script to inject: <c>_WAND_DIR = ...</c>, the prelude, then the payload. Injected scripts
    /// have no <c>__file__</c>, so the folder is baked in, hex-encoded so no path can break out of
    /// the literal.
    /// </summary>
    public static string Script(string fileName, string workDirInTarget) =>
        $"_WAND_DIR = bytes.fromhex(\"{Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(workDirInTarget))}\").decode()\n"
        + Read("prelude.py") + "\n\n" + Read(fileName);
}
