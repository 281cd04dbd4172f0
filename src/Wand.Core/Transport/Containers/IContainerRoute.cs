namespace Wand.Transport.Containers;

/// <summary>
/// A route into one container (from this machine through /proc, or through the runtime's exec): a
/// container can stop and run again, and its processes are new then.
/// </summary>
public interface IContainerRoute : ITargetRoute
{
    /// <summary>The container ran again after a restart: its processes are new.</summary>
    void Restarted(ContainerInfo container);
}
