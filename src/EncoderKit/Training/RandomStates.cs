using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>
/// Every random draw of a training run comes from one of two seeded generators: libtorch's default CPU generator
/// (dropout, masking) and the <see cref="DataOrder"/> generator. Their states saved and restored together make a
/// resumed run draw exactly what the uninterrupted run would have drawn.
/// </summary>
/// <remarks>libtorch's default generator is process-wide: two runs in one process at once would draw from each other's sequence.</remarks>
public sealed class RandomStates
{
    const string TorchKey = "rng.torch_cpu", DataOrderKey = "rng.data_order";

    /// <summary>Seeds both generators from <paramref name="seed"/> (libtorch's as torch.manual_seed does).</summary>
    public RandomStates(long seed)
    {
        manual_seed(seed);
        DataOrder = new DataOrderGenerator(seed);
    }

    public DataOrderGenerator DataOrder { get; }

    /// <summary>Both states as named CPU tensors for a safetensors file: the torch generator's bytes (uint8) and the data-order words (int64).</summary>
    public Dictionary<string, Tensor> StateDict() => new(StringComparer.Ordinal)
    {
        [TorchKey] = get_rng_state(),
        [DataOrderKey] = tensor(DataOrder.Save()),
    };

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string? file = null)
    {
        if (!stateDict.TryGetValue(TorchKey, out Tensor? torchState) || torchState.dtype != ScalarType.Byte || torchState.dim() != 1)
            throw new EncoderKitException(ErrorKind.BadCheckpoint, "missing, or not a uint8 vector", file, TorchKey);
        if (!stateDict.TryGetValue(DataOrderKey, out Tensor? dataOrder) || dataOrder.dtype != ScalarType.Int64 || dataOrder.dim() != 1)
            throw new EncoderKitException(ErrorKind.BadCheckpoint, "missing, or not an int64 vector", file, DataOrderKey);
        using Tensor current = get_rng_state();
        if (torchState.shape[0] != current.shape[0])
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"{torchState.shape[0]} bytes, this libtorch's generator state has {current.shape[0]}", file, TorchKey);
        DataOrder.Restore(dataOrder.data<long>().ToArray());
        set_rng_state(torchState);
    }
}
