using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Wand.Stacks;

/// <summary>
/// The JSON form of <see cref="ProcessStacks"/> (<c>wand stacks -o json</c>), written field by field
/// so the schema documented in docs/stacks-json.md is what the code says. Frames are innermost last.
/// </summary>
public static class StacksJson
{
    public static string Write(ProcessStacks stacks) => Document(w => WriteStacks(w, stacks));

    /// <summary><c>--all-pods</c>: {"pods": [{"pod", "stacks" (as <see cref="Write"/>, or null), "error" (or null)}]}.</summary>
    public static string WritePods(IReadOnlyList<(string Pod, ProcessStacks? Stacks, string? Error)> pods) => Document(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("pods");
        foreach (var (pod, stacks, error) in pods)
        {
            w.WriteStartObject();
            w.WriteString("pod", pod);
            w.WritePropertyName("stacks");
            if (stacks is null) w.WriteNullValue();
            else WriteStacks(w, stacks);
            w.WriteString("error", error);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static string Document(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(w);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteStacks(Utf8JsonWriter w, ProcessStacks stacks)
    {
        w.WriteStartObject();
        w.WriteNumber("pid", stacks.Pid);
        w.WriteString("python", stacks.PythonVersion);
        if (stacks.StoppedFor is { } stopped) w.WriteNumber("stoppedMs", Math.Round(stopped.TotalMilliseconds, 3));
        else w.WriteNull("stoppedMs");
        w.WriteStartArray("threads");
        foreach (var t in stacks.Threads) WriteThread(w, t);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteThread(Utf8JsonWriter w, ThreadStack t)
    {
        w.WriteStartObject();
        w.WriteNumber("tid", t.Tid);
        w.WriteString("name", t.Name);
        w.WriteString("nameSource", t.NameSource.ToString().ToLowerInvariant());
        w.WriteBoolean("python", t.Python is not null);
        if (t.Python is { } p) w.WriteNumber("interpreter", p.InterpreterId);
        else w.WriteNull("interpreter");
        w.WriteBoolean("holdsGil", t.Python?.HoldsGil ?? false);
        w.WriteStartObject("native");
        w.WriteString("state", t.Native.State);
        w.WriteString("syscall", t.Native.Syscall);
        if (t.Native.SyscallNumber is { } n) w.WriteNumber("syscallNumber", n);
        else w.WriteNull("syscallNumber");
        w.WriteString("description", t.Native.Description);
        w.WriteString("wchan", t.Native.WaitChannel);
        w.WriteEndObject();
        w.WriteStartArray("frames");
        foreach (var f in t.Python?.Frames ?? []) WriteFrame(w, f);
        w.WriteEndArray();
        w.WriteString("problem", t.Python?.Problem);
        w.WriteEndObject();
    }

    private static void WriteFrame(Utf8JsonWriter w, StackFrame f)
    {
        w.WriteStartObject();
        w.WriteString("file", f.File);
        if (f.Line is { } line) w.WriteNumber("line", line);
        else w.WriteNull("line");
        w.WriteString("function", f.Function);
        if (f.Locals is { } locals)
        {
            w.WriteStartArray("locals");
            foreach (var l in locals)
            {
                w.WriteStartObject();
                w.WriteString("name", l.Name);
                w.WriteString("type", l.Type);
                w.WriteString("value", l.Value);
                if (l.Length is { } len) w.WriteNumber("length", len);
                else w.WriteNull("length");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }
}
