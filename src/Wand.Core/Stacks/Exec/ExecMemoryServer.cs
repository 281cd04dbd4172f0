using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Injection.Payloads;
using Wand.Transport;
using Wand.Transport.Exec;

namespace Wand.Stacks.Exec;

/// <summary>
/// wand's end of stacks_agent.py, run in a container through its CLI's exec (<c>podman exec -i</c>)
/// with the container's own interpreter: it opens the target's /proc/PID/mem read-only and hands over
/// the bytes asked for, one request line and one answer line at a time, so the reader of the
/// interpreter state stays <see cref="PythonStackReader"/>. Nothing is added to the image.
/// Synchronous, like <see cref="Transport.Local.IProcessMemory"/>; every answer has a deadline.
/// </summary>
public sealed class ExecMemoryServer : IDisposable
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);

    private readonly ProcessStream _stream;
    private readonly IExecTarget _target;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private ExecMemoryServer(ProcessStream stream, IExecTarget target, int pid)
    {
        _stream = stream;
        _target = target;
        Pid = pid;
    }

    /// <summary>The target's PID inside the container.</summary>
    public int Pid { get; }

    /// <summary>The agent's first answer: exe, maps, comm, status and each task's comm, syscall, wchan, status.</summary>
    public JsonElement Snapshot { get; private set; }

    public static ExecMemoryServer Start(IExecTarget target, int pid)
    {
        // The target's own interpreter runs the agent (as every exec-route request does): the image may have no other.
        var stream = ProcessStream.Start(target.Program, target.ExecArguments([$"/proc/{pid}/exe", "-I", "-S", "-c", Payload.AgentBoot]));
        try
        {
            var agent = Payload.Read("stacks_agent.py") + "\n\n" + Payload.Read(Payload.Agent);
            var request = new JsonObject { ["agent"] = agent, ["request"] = new JsonObject { ["op"] = "memory", ["pid"] = pid } };
            var server = new ExecMemoryServer(stream, target, pid);
            server.Send(request.ToJsonString());
            var first = server.ReceiveLine()
                ?? throw new InjectionFailedException($"wand's agent in {target.Description} ended without an answer", $"check that `{target.Verb}` works and that PID {pid} runs Python there");
            using var doc = JsonDocument.Parse(first);
            var snapshot = doc.RootElement.Clone();
            if (!snapshot.GetProperty("ok").GetBoolean())
            {
                var detail = snapshot.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";
                throw snapshot.GetProperty("error").GetString() switch
                {
                    "permission" => new PermissionDeniedException(pid, $"reading /proc/{pid}/mem in {target.Description}: {detail}"),
                    _ => new TargetExitedException(pid, $"while wand was reading its stacks in {target.Description}"),
                };
            }
            server.Snapshot = snapshot;
            return server;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Bytes of the target's memory, or null when the kernel refuses (unmapped, or the process is gone).</summary>
    public byte[]? Memory(ulong address, int length) => Ask($"m {address:x} {length.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>Bytes of a file as the target sees it (through /proc/PID/root), or null.</summary>
    public byte[]? File(string path, long offset, int length) =>
        Ask(string.Create(CultureInfo.InvariantCulture, $"f {Convert.ToHexString(Encoding.UTF8.GetBytes(path))} {offset} {length}"));

    /// <summary>A file's size as the target sees it, or null.</summary>
    public long? FileSize(string path)
    {
        Send($"s {Convert.ToHexString(Encoding.UTF8.GetBytes(path))}");
        var line = ReceiveLine() ?? throw Ended();
        return line.StartsWith('+') ? long.Parse(line.AsSpan(1), CultureInfo.InvariantCulture) : null;
    }

    private byte[]? Ask(string request)
    {
        Send(request);
        var line = ReceiveLine() ?? throw Ended();
        return line.StartsWith('+') ? Convert.FromBase64String(line[1..]) : null;
    }

    private TargetExitedException Ended() => new(Pid, $"while wand was reading its stacks (the agent in {_target.Description} ended)");

    private void Send(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        _stream.Write(bytes);
        _stream.Flush();
    }

    /// <summary>The next line from the agent, or null at its end; throws on the deadline.</summary>
    private string? ReceiveLine()
    {
        var text = new MemoryStream();
        using var deadline = new CancellationTokenSource(AnswerTimeout);
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                text.Write(_buffer, _start, newline - _start);
                _start = newline + 1;
                return Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
            }
            text.Write(_buffer, _start, _end - _start);
            _start = _end = 0;
            int n;
            try
            {
                n = _stream.ReadAsync(_buffer.AsMemory(), deadline.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                throw new InjectionFailedException($"wand's agent in {_target.Description} did not answer within {AnswerTimeout.TotalSeconds:0} s",
                    "retry; if it persists, the container may be overloaded or frozen");
            }
            if (n == 0) return null;
            _end = n;
        }
    }

    public void Dispose() => _stream.Dispose(); // its stdin closes: the agent ends
}
