using EncoderKit.Engine;
using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// The weights of a sentence-transformers module folder (Dense, LayerNorm): <c>model.safetensors</c>, or
/// <c>pytorch_model.bin</c> read without executing it, as the library's load_torch_weights looks for them.
/// </summary>
static class ModuleWeights
{
    public static ITensorSource Open(string folder)
    {
        string safetensors = Path.Combine(folder, "model.safetensors");
        if (File.Exists(safetensors)) return SafetensorsFile.Open(safetensors);
        string pickle = Path.Combine(folder, "pytorch_model.bin");
        if (File.Exists(pickle)) return PickleCheckpoint.Open(pickle);
        throw new EncoderKitException(ErrorKind.MissingFile, "neither model.safetensors nor pytorch_model.bin is here", folder);
    }

    /// <summary>Tensor <paramref name="name"/> as float32 on <paramref name="device"/>, checked against <paramref name="shape"/>.</summary>
    public static Tensor Read(ITensorSource source, string folder, string name, long[] shape, Device device)
    {
        if (!source.TryGet(name, out TensorInfo? info))
            throw new EncoderKitException(ErrorKind.BadCheckpoint, "tensor is missing", WeightFile(source, folder), name);
        if (!info.Shape.SequenceEqual(shape))
            throw new EncoderKitException(ErrorKind.BadCheckpoint,
                $"shape [{string.Join(", ", info.Shape)}], expected [{string.Join(", ", shape)}] (from the module's config.json)", info.File, name);
        if (info.Dtype is not (TensorDtype.F32 or TensorDtype.F16 or TensorDtype.BF16 or TensorDtype.F64))
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"dtype {info.Dtype} is not a floating-point type", info.File, name);
        using Tensor stored = TorchTensors.Read(source, name);
        return stored.to(ScalarType.Float32, device);
    }

    /// <summary>Refuses tensors the module does not know: a misnamed weight must not pass silently.</summary>
    public static void RejectUnexpected(ITensorSource source, string folder, IReadOnlySet<string> expected)
    {
        foreach (TensorInfo t in source.Tensors)
            if (!expected.Contains(t.Name))
                throw new EncoderKitException(ErrorKind.BadCheckpoint,
                    $"unexpected tensor (this module has {string.Join(", ", expected.Order())})", t.File, t.Name);
    }

    static string WeightFile(ITensorSource source, string folder) => source.Tensors.FirstOrDefault()?.File ?? folder;
}
