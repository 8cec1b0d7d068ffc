using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// The weights of a sentence-transformers module folder (Dense, LayerNorm), as the parameters its module takes by name:
/// <c>model.safetensors</c>, or <c>pytorch_model.bin</c> read without executing it, as the library's load_torch_weights
/// looks for them. Every tensor is checked against the shape the module's config.json implies and read as float32.
/// </summary>
sealed class ModuleWeights : IParameterSource, IDisposable
{
    readonly ITensorSource _source;
    readonly string _folder;

    ModuleWeights(ITensorSource source, string folder, Device device)
    {
        _source = source;
        _folder = folder;
        Device = device;
    }

    public ScalarType Dtype => ScalarType.Float32;

    public Device Device { get; }

    /// <summary>Opens the folder's weights and refuses tensors the module does not know: a misnamed weight must not pass silently.</summary>
    public static ModuleWeights Open(string folder, Device device, IReadOnlySet<string> expected)
    {
        string safetensors = Path.Combine(folder, "model.safetensors"), pickle = Path.Combine(folder, "pytorch_model.bin");
        ITensorSource source = File.Exists(safetensors) ? SafetensorsFile.Open(safetensors)
            : File.Exists(pickle) ? PickleCheckpoint.Open(pickle)
            : throw new EncoderKitException(ErrorKind.MissingFile, "neither model.safetensors nor pytorch_model.bin is here", folder);
        foreach (TensorInfo t in source.Tensors)
        {
            if (expected.Contains(t.Name)) continue;
            source.Dispose();
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"unexpected tensor (this module has {string.Join(", ", expected.Order())})", t.File, t.Name);
        }
        return new ModuleWeights(source, folder, device);
    }

    public Tensor Take(string name, long[] shape, Init init)
    {
        if (!_source.TryGet(name, out TensorInfo? info))
            throw new EncoderKitException(ErrorKind.BadCheckpoint, "tensor is missing", _source.Tensors.FirstOrDefault()?.File ?? _folder, name);
        if (!info.Shape.SequenceEqual(shape))
            throw new EncoderKitException(ErrorKind.BadCheckpoint,
                $"shape [{string.Join(", ", info.Shape)}], expected [{string.Join(", ", shape)}] (from the module's config.json)", info.File, name);
        if (info.Dtype is not (TensorDtype.F32 or TensorDtype.F16 or TensorDtype.BF16 or TensorDtype.F64))
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"dtype {info.Dtype} is not a floating-point type", info.File, name);
        using Tensor stored = TorchTensors.Read(_source, name);
        return stored.to(ScalarType.Float32, Device);
    }

    /// <summary>Writes a module's folder: <paramref name="config"/> as config.json and its parameters, by name, as float32 model.safetensors.</summary>
    public static void Save(string folder, nn.Module module, System.Text.Json.Nodes.JsonObject config)
    {
        Directory.CreateDirectory(folder);
        using (var scope = NewDisposeScope())
        {
            var tensors = module.named_parameters().Select(p =>
            {
                var (dtype, shape, data) = TorchTensors.ToStored(p.parameter.detach().to(ScalarType.Float32, CPU).contiguous());
                return new TensorData(p.name, dtype, shape, data);
            }).ToList();
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        AtomicFile.WriteJson(Path.Combine(folder, "config.json"), config);
    }

    public void Dispose() => _source.Dispose();
}

/// <summary>Parameters handed over as tensors (a module built in code): each copied as float32.</summary>
sealed class GivenParameters(IReadOnlyDictionary<string, Tensor> tensors, Device device) : IParameterSource
{
    public ScalarType Dtype => ScalarType.Float32;

    public Device Device => device;

    public Tensor Take(string name, long[] shape, Init init)
    {
        Tensor given = tensors[name];
        if (!given.shape.SequenceEqual(shape))
            throw new EncoderKitException(ErrorKind.BadInput, $"shape [{string.Join(", ", given.shape)}], expected [{string.Join(", ", shape)}]", field: name);
        return given.detach().to(ScalarType.Float32, device).clone();
    }
}
