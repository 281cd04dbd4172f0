using System.Text.Json;

namespace Wand.Hpc;

/// <summary>
/// The per-user folder of <see cref="SessionRecord"/>s: <c>$RDG_SESSION_DIR</c>, else
/// <c>$XDG_CACHE_HOME/rdg/sessions</c>, else <c>~/.cache/rdg/sessions</c>. The home folder is shared by
/// the login and compute nodes of a cluster, so what a job records on a node is read on the login
/// node (a node-local XDG_RUNTIME_DIR would not be). Created 0700; records are written atomically.
/// </summary>
public sealed class SessionStore(string folder)
{
    public static SessionStore Default { get; } = new(DefaultFolder(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)));

    public string Folder { get; } = folder;

    public static string DefaultFolder(Func<string, string?> environment, string home) =>
        environment("RDG_SESSION_DIR") is { Length: > 0 } explicitDir ? explicitDir
        : Path.Combine(environment("XDG_CACHE_HOME") is { Length: > 0 } cache ? cache : Path.Combine(home, ".cache"), "rdg", "sessions");

    public string Write(SessionRecord record)
    {
        Directory.CreateDirectory(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(Folder, record.FileName);
        var temporary = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(record, HpcJson.Indented.SessionRecord));
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    public void Remove(SessionRecord record)
    {
        try
        {
            File.Delete(Path.Combine(Folder, record.FileName));
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Every readable record, newest first (unreadable files are skipped, never fatal).</summary>
    public IReadOnlyList<SessionRecord> List()
    {
        if (!Directory.Exists(Folder)) return [];
        var records = new List<SessionRecord>();
        foreach (var file in Directory.GetFiles(Folder, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize(File.ReadAllText(file), HpcJson.Default.SessionRecord) is { } r) records.Add(r);
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
            }
        }
        return [.. records.OrderByDescending(r => r.StartedAt)];
    }

    /// <summary>null or "latest": the newest record; digits: a job id first, then a PID.</summary>
    public SessionRecord? Find(string? key) => Select(List(), key);

    /// <summary>The same choice among records read elsewhere (over SSH by rdg tunnel), newest first.</summary>
    public static SessionRecord? Select(IReadOnlyList<SessionRecord> newestFirst, string? key)
    {
        if (key is null or "latest") return newestFirst.FirstOrDefault();
        return newestFirst.FirstOrDefault(r => r.JobId == key) ?? newestFirst.FirstOrDefault(r => int.TryParse(key, out var pid) && r.Pid == pid);
    }

    /// <summary>Records printed one after another (<c>cat *.json</c>), newest first; what does not parse is skipped.</summary>
    public static IReadOnlyList<SessionRecord> ParseConcatenated(string text)
    {
        var records = new List<SessionRecord>();
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowMultipleValues = true });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.StartObject) continue;
                try
                {
                    if (JsonSerializer.Deserialize(ref reader, HpcJson.Default.SessionRecord) is { } r) records.Add(r);
                }
                catch (JsonException)
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // a truncated file at the end: keep what was read
        }
        return [.. records.OrderByDescending(r => r.StartedAt)];
    }
}
