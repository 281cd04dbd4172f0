using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Injection.Payloads;

namespace Wand.Injection;

/// <summary>Runs Python source inside a live local process and brings back what it printed (<c>wand exec</c>).</summary>
public sealed class CodeRunner(PayloadRunnerBase runner)
{
    public async Task<ExecResult> RunAsync(int pid, string source, string filename, TimeSpan safePointTimeout, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(pid, Payload.Exec, new JsonObject { ["source"] = source, ["filename"] = filename }, safePointTimeout, null, cancellationToken);
        return new ExecResult(
            result.GetProperty("ok").GetBoolean(),
            result.GetProperty("stdout").GetString() ?? "",
            result.GetProperty("stderr").GetString() ?? "",
            result.GetProperty("traceback").ValueKind == JsonValueKind.String ? result.GetProperty("traceback").GetString() : null);
    }
}
