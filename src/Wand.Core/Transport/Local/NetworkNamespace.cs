using System.Net.Sockets;
using System.Runtime.InteropServices;
using Wand.Errors;

namespace Wand.Transport.Local;

/// <summary>
/// Reaching loopback ports inside another process's network namespace (a container without
/// published ports): a socket created while its thread is in that namespace stays bound to it, so
/// wand switches one dedicated thread in (setns), creates the socket and switches back.
/// </summary>
public static class NetworkNamespace
{
    /// <summary>A TCP socket (not yet connected) living in the network namespace of <paramref name="pid"/>.</summary>
    public static Socket CreateSocketIn(int pid)
    {
        Socket? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            var own = Libc.OpenReadOnly("/proc/thread-self/ns/net");
            var theirs = Libc.OpenReadOnly($"/proc/{pid}/ns/net");
            try
            {
                if (own < 0 || theirs < 0) throw new TargetExitedException(pid, "before wand could reach its network");
                if (Libc.setns(theirs, Libc.CLONE_NEWNET) != 0)
                    throw new PermissionDeniedException(pid, $"entering its network namespace: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())} (needs root or CAP_SYS_ADMIN)");
                try
                {
                    socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                }
                finally
                {
                    // This thread ends right after; switching back keeps its last moments ordinary.
                    Libc.setns(own, Libc.CLONE_NEWNET);
                }
            }
            catch (Exception e)
            {
                error = e;
            }
            finally
            {
                if (own >= 0) Libc.close(own);
                if (theirs >= 0) Libc.close(theirs);
            }
        }) { IsBackground = true, Name = "wand-setns" };
        thread.Start();
        thread.Join();
        return socket ?? throw error!;
    }
}
