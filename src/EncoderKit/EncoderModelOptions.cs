using EncoderKit.Compute;
using EncoderKit.Hub;

namespace EncoderKit;

/// <summary>How <see cref="EncoderModel.LoadAsync"/> finds a model and where it computes.</summary>
public sealed record EncoderModelOptions
{
    /// <summary>Branch, tag or commit of a hub id; null: <c>main</c> (or the id's own <c>@revision</c>).</summary>
    public string? Revision { get; init; }

    /// <summary>Hub endpoint, token, cache, offline mode; null reads them from the environment as huggingface_hub does.</summary>
    public HubOptions? Hub { get; init; }

    public ComputeOptions Compute { get; init; } = new();
}
