namespace Wand.Transport.Kubernetes;

/// <summary>One watch event: ADDED, MODIFIED or DELETED, and the pod as it is now (as it was last, for DELETED).</summary>
public sealed record PodEvent(string Type, PodInfo Pod)
{
    public const string Added = "ADDED";
    public const string Modified = "MODIFIED";
    public const string Deleted = "DELETED";
}
