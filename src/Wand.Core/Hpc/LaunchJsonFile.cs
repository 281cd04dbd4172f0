using System.Text;
using System.Text.Json;
using Wand.Errors;

namespace Wand.Hpc;

/// <summary>
/// Reads, edits (<see cref="LaunchJsonEditor"/>) and writes <c>.vscode/launch.json</c>. The file is
/// never moved away: a new content replaces it atomically (temporary file in the same folder, then
/// rename); only a file that is not JSONC at all is first copied to <c>launch.json.bak</c>.
/// </summary>
public static class LaunchJsonFile
{
    public static LaunchJsonOutcome Update(string workspaceFolder, LaunchJsonSettings settings)
    {
        var dir = Path.Combine(workspaceFolder, ".vscode");
        var path = Path.Combine(dir, "launch.json");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(dir);
            WriteAtomically(path, LaunchJsonEditor.NewFile(settings));
            return new LaunchJsonOutcome(path, true, true, null, null, []);
        }

        var old = Encoding.UTF8.GetString(File.ReadAllBytes(path)); // a BOM stays a BOM
        LaunchJsonEdit edit;
        try
        {
            edit = LaunchJsonEditor.Apply(old, settings);
        }
        catch (JsonException e)
        {
            var backup = FreeBackupName(path);
            File.Copy(path, backup);
            WriteAtomically(path, LaunchJsonEditor.NewFile(settings));
            var where = e.LineNumber is { } line ? $" (line {line + 1})" : "";
            return new LaunchJsonOutcome(path, false, true, backup, $"{FirstSentence(e.Message)}{where}", []);
        }
        catch (FormatException e)
        {
            throw new WandException(ExitCodes.Usage, $"{path}: {e.Message}; rdg left it unchanged", "fix the file (VS Code's format: { \"configurations\": [ ... ] })", remedy: new Remedy(RemedyKind.WriteLaunchConfigAgain));
        }
        if (edit.Changed) WriteAtomically(path, edit.Text);
        return new LaunchJsonOutcome(path, false, edit.Changed, null, null, edit.Notes);
    }

    /// <summary>launch.json.bak, or launch.json.bak.1, .2, ... so an earlier backup is never overwritten.</summary>
    private static string FreeBackupName(string path)
    {
        var candidate = path + ".bak";
        for (var i = 1; File.Exists(candidate); i++) candidate = $"{path}.bak.{i}";
        return candidate;
    }

    private static string FirstSentence(string message) => message.Split(" LineNumber:", 2)[0].TrimEnd('.');

    private static void WriteAtomically(string path, string text)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.rdg-{Environment.ProcessId}.tmp");
        File.WriteAllText(temporary, text, new UTF8Encoding(false));
        if (File.Exists(path))
        {
            try
            {
                File.SetUnixFileMode(temporary, File.GetUnixFileMode(path));
            }
            catch (IOException)
            {
            }
        }
        File.Move(temporary, path, overwrite: true);
    }
}
