namespace Wand.Injection.Attacher;

/// <summary>What happened to a remote-exec request that the target accepted.</summary>
/// <param name="ThreadId">Kernel TID of the thread that will run the script.</param>
/// <param name="WaitedForOtherRequest">Another request was pending first and wand waited for it.</param>
/// <param name="AcceptedAfter">Time from setting the flag until the target cleared it.</param>
public sealed record InjectionReceipt(int ThreadId, bool WaitedForOtherRequest, TimeSpan AcceptedAfter);
