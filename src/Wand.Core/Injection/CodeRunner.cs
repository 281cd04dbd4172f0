using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Injection.Payloads;

namespace Wand.Injection;

/// <summary>Runs Python source inside a live process and brings back what it printed (<c>wand exec</c>).</summary>
public sealed class CodeRunner(PayloadRunnerBase runner)
{
    /// <summary>
    /// How long past the timeout wand waits for the payload's answer: its watchdog looks every 50 ms,
    /// and code running Python stops at its next instruction, so a later answer means code blocked in C.
    /// </summary>
    private static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(2);

    /// <param name="timeout">How long the target may take to reach a safe point, and then how long the code may run
    /// before it is interrupted in the target (exec_capture.py).</param>
    public async Task<ExecResult> RunAsync(int pid, string source, string filename, TimeSpan timeout, CancellationToken cancellationToken)
    {
        JsonElement result;
        try
        {
            // Cancelling (Ctrl+C) withdraws the request: the payload then stops the code as at the deadline.
            result = await runner.RunAsync(pid, Payload.Exec, new JsonObject { ["source"] = source, ["filename"] = filename, ["timeout"] = timeout.TotalSeconds },
                timeout, timeout + InterruptGrace, cancellationToken);
        }
        catch (NoAnswerException)
        {
            throw new ExecTimeoutException(pid, timeout, null);
        }
        var exec = new ExecResult(
            result.GetProperty("ok").GetBoolean(),
            result.GetProperty("stdout").GetString() ?? "",
            result.GetProperty("stderr").GetString() ?? "",
            result.GetProperty("traceback").ValueKind == JsonValueKind.String ? result.GetProperty("traceback").GetString() : null);
        if (result.TryGetProperty("interrupted", out var interrupted) && interrupted.ValueKind == JsonValueKind.String)
            throw new ExecTimeoutException(pid, timeout, exec);
        return exec;
    }
}
