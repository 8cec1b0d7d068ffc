using EncoderKit.Compute;
using EncoderKit.Hub;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit;

/// <summary>
/// An encoder checkpoint loaded from its Hugging Face folder: the network with every head the checkpoint holds.
/// Forward passes run under inference mode; dispose the model to free its native memory.
/// </summary>
public sealed class EncoderModel : IDisposable
{
    readonly Tokenizer? tokenizer;
    readonly string prefixInUse;

    EncoderModel(string folder, ConfigJson config, IEncoderFamily family, EncoderNetwork network, Device device, Tokenizer? tokenizer, string prefixInUse)
    {
        this.tokenizer = tokenizer;
        this.prefixInUse = prefixInUse;
        Folder = folder;
        Config = config;
        Family = family;
        Network = network;
        Device = device;
    }

    public string Folder { get; }
    public ConfigJson Config { get; }
    public IEncoderFamily Family { get; }
    public EncoderNetwork Network { get; }
    public EncoderSpec Spec => Network.Spec;
    public Device Device { get; }

    /// <summary>The tokenizer shipped in the model folder.</summary>
    /// <exception cref="EncoderKitException">The folder has no tokenizer files.</exception>
    public Tokenizer Tokenizer => tokenizer
        ?? throw new EncoderKitException(ErrorKind.MissingFile, "the model folder has no tokenizer (tokenizer.json, vocab.txt or a SentencePiece .model)", Folder);

    public bool HasTokenizer => tokenizer is not null;

    /// <summary>The most tokens one input may have: the model's positions, or the tokenizer's model_max_length if smaller.</summary>
    public int? MaxInputTokens =>
        (Spec.MaxPositions, tokenizer?.ModelMaxLength) switch
        {
            (int p, int t) => Math.Min(p, t),
            (int p, null) => p,
            (null, int t) => t,
            _ => null,
        };

    /// <summary>
    /// Loads <paramref name="model"/>, a local folder or a hub id (<c>org/name[@revision]</c>), fetching it into the
    /// Hugging Face cache first when needed.
    /// </summary>
    public static async Task<EncoderModel> LoadAsync(string model, EncoderModelOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EncoderModelOptions();
        string folder = await ModelSource.ResolveAsync(model, options.Revision, options.Hub, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return Load(folder, options.Compute, options.Hub?.AllowPickleWeights ?? false);
    }

    /// <summary>Loads the model in <paramref name="folder"/>: config.json, its weights, and its tokenizer when present.</summary>
    /// <param name="allowPickleWeights">Read pytorch_model.bin when the folder has no safetensors (safely: no code runs).</param>
    public static EncoderModel Load(string folder, ComputeOptions? options = null, bool allowPickleWeights = false)
    {
        options ??= new ComputeOptions();
        if (!Directory.Exists(folder))
            throw new EncoderKitException(ErrorKind.MissingFile, "model folder not found", folder);
        options.ApplyToProcess();
        Device device = options.ResolveDevice();
        ScalarType dtype = options.ResolveDtype(device);

        var builder = new NetworkBuilder(ConfigJson.Load(Path.Combine(folder, "config.json")));
        Tokenizer? tokenizer = LoadTokenizer(folder);   // before any native memory exists, so its errors leak nothing
        using ITensorSource weights = ModelWeights.Open(folder, allowPickleWeights);
        var (network, prefixInUse) = builder.FromCheckpoint(weights, dtype, device);
        return new EncoderModel(folder, builder.Config, builder.Family, network, device, tokenizer, prefixInUse);
    }

    /// <summary>
    /// A freshly initialised model of the family and shape <paramref name="config"/> describes (heads from its
    /// `architectures`): the start of pretraining, and the subject of benchmarks.
    /// </summary>
    public static EncoderModel CreateRandom(ConfigJson config, ComputeOptions? options = null, long seed = 0)
    {
        options ??= new ComputeOptions();
        options.ApplyToProcess();
        Device device = options.ResolveDevice();
        var builder = new NetworkBuilder(config);
        var (network, prefixInUse) = builder.FromInitialization(options.ResolveDtype(device), device, seed);
        // A config parsed from text names no folder ("" is no path); "." as before for a bare file name.
        string folder = Path.GetDirectoryName(config.File) is { Length: > 0 } directory ? directory : ".";
        return new EncoderModel(folder, config, builder.Family, network, device, tokenizer: null, prefixInUse);
    }

    /// <summary>
    /// A task model on the base checkpoint in <paramref name="folder"/>: <paramref name="taskConfig"/> (the base's config
    /// rewritten for the task) decides the heads; the base's weights are kept and the new head initialised from
    /// <paramref name="seed"/>, as <see cref="NetworkBuilder.FromBaseCheckpoint"/> builds it. Saving writes the task checkpoint.
    /// </summary>
    public static EncoderModel LoadWithNewHeads(string folder, ConfigJson taskConfig, ComputeOptions? options = null, long seed = 0)
    {
        options ??= new ComputeOptions();
        if (!Directory.Exists(folder))
            throw new EncoderKitException(ErrorKind.MissingFile, "model folder not found", folder);
        options.ApplyToProcess();
        Device device = options.ResolveDevice();
        var builder = new NetworkBuilder(taskConfig);
        Tokenizer? tokenizer = LoadTokenizer(folder);
        using ITensorSource weights = ModelWeights.Open(folder);
        var (network, prefixInUse) = builder.FromBaseCheckpoint(weights, options.ResolveDtype(device), device, seed);
        return new EncoderModel(folder, taskConfig, builder.Family, network, device, tokenizer, prefixInUse);
    }

    /// <summary>
    /// Writes the model as a Hugging Face folder in its family's own layout (config.json, model.safetensors with the
    /// family's tensor names, in the compute dtype; a tied decoder is not stored, as transformers does), plus the
    /// tokenizer files of the folder it came from, so the Python tools load it back. config.json is kept as it was
    /// except for `torch_dtype`, which names the dtype the tensors are written in.
    /// </summary>
    /// <remarks>
    /// Each tensor's bytes go from native memory straight to the file, one tensor at a time, so saving needs no
    /// second copy of the model. Every file is written under a temporary name and moved into place once complete:
    /// a failed save leaves no half-written file.
    /// </remarks>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        WeightMap map = Family.Weights(Spec);
        using (var scope = NewDisposeScope())   // frees the exported views
        {
            var tensors = new List<StreamedTensor>();
            foreach (var (name, parameter) in Network.named_parameters())
            foreach (var (external, value) in map.Export(name, parameter, prefixInUse, Spec))
                tensors.Add(new StreamedTensor(external, TorchTensors.ToTensorDtype(value.dtype), value.shape, stream =>
                {
                    using Tensor stored = value.to(CPU).contiguous();   // a view, unless the model lives on a GPU
                    TorchTensors.WriteStored(stored, stream);
                }));
            SafetensorsWriter.Write(Path.Combine(folder, CheckpointWeights.SingleFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        AtomicFile.WriteJson(Path.Combine(folder, "config.json"), ConfigAsSaved());
        if (Path.GetFullPath(folder) == Path.GetFullPath(Folder)) return;
        foreach (string file in TokenizerFiles.Where(f => File.Exists(Path.Combine(Folder, f))))
            AtomicFile.Write(Path.Combine(folder, file), stream =>
            {
                using FileStream source = File.OpenRead(Path.Combine(Folder, file));
                source.CopyTo(stream);
            });
    }

    /// <summary>
    /// A copy of the model with its parameters in <paramref name="dtype"/> (tied weights still tied), on the same device,
    /// sharing the tokenizer: the compute copy of mixed-precision training, whose master weights stay in this one.
    /// </summary>
    public EncoderModel CopyAs(ScalarType dtype) =>
        new(Folder, Config, Family, NetworkBuilder.Copy(Network, dtype), Device, tokenizer, prefixInUse);

    /// <summary>
    /// Each parameter's gradient from the last backward pass under the checkpoint's own tensor names, as
    /// <see cref="Save"/> names the weights (a tied decoder's share is in the embedding's); zeros for a parameter
    /// the backward pass did not reach. The tensors are views the caller disposes, e.g. in a dispose scope.
    /// </summary>
    public IEnumerable<(string Name, Tensor Gradient)> NamedGradients()
    {
        WeightMap map = Family.Weights(Spec);
        foreach (var (name, parameter) in Network.named_parameters())
            foreach (var named in map.Export(name, parameter.grad ?? zeros_like(parameter), prefixInUse, Spec))
                yield return named;
    }

    // transformers records the dtype of the first floating-point parameter; newer versions spell the key "dtype".
    System.Text.Json.Nodes.JsonObject ConfigAsSaved()
    {
        var config = (System.Text.Json.Nodes.JsonObject)Config.Root.DeepClone();
        ScalarType dtype = Network.parameters().Select(p => p.dtype).First(t => t is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64);
        string name = dtype switch
        {
            ScalarType.BFloat16 => "bfloat16",
            ScalarType.Float16 => "float16",
            ScalarType.Float64 => "float64",
            _ => "float32",
        };
        config["torch_dtype"] = name;
        if (config.ContainsKey("dtype")) config["dtype"] = name;
        return config;
    }

    static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "tokenizer.model"];

    /// <summary>Runs the network on a batch. Inputs may live on any device; outputs live on the model's.</summary>
    /// <param name="inputIds">[B, L] integer ids; [B, C, L] for a multiple-choice model (outputs then [B, C, …], choice_logits [B, C]).</param>
    /// <param name="attentionMask">Shaped as <paramref name="inputIds"/>, 1 real / 0 padding; null when nothing is padded.</param>
    /// <param name="tokenTypeIds">Shaped as <paramref name="inputIds"/>; null for all zeros.</param>
    public EncoderOutputs Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, Outputs outputs = Outputs.AllHeads)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = inputIds.to(ScalarType.Int64, Device);
        Tensor? mask = attentionMask?.to(ScalarType.Int64, Device);
        Tensor? types = tokenTypeIds?.to(ScalarType.Int64, Device);
        ValidateInputs(ids, mask, types);
        EncoderOutputs result = Network.Forward(ids, mask, types, outputs);
        foreach (var (_, tensor) in result.Named()) tensor.MoveToOuterDisposeScope();
        return result;
    }

    // A folder may hold only weights (the forward command needs no tokenizer); a malformed tokenizer still fails.
    static Tokenizer? LoadTokenizer(string folder)
    {
        bool present = File.Exists(Path.Combine(folder, "tokenizer.json")) || File.Exists(Path.Combine(folder, "vocab.txt"))
            || Directory.EnumerateFiles(folder, "*.model").Any();
        return present ? Tokenizer.FromFolder(folder) : null;
    }

    void ValidateInputs(Tensor inputIds, Tensor? attentionMask, Tensor? tokenTypeIds)
    {
        bool multipleChoice = Spec.Heads.Get<MultipleChoiceSpec>() is not null;
        if (inputIds.dim() == 3 && !multipleChoice)
            throw new EncoderKitException(ErrorKind.BadInput, $"[batch, choices, length] input [{string.Join(", ", inputIds.shape)}] needs a multiple-choice head, and this model has none", field: "input_ids");
        if (inputIds.dim() is not (2 or 3))
            throw new EncoderKitException(ErrorKind.BadInput,
                $"expected [batch, length]{(multipleChoice ? " or [batch, choices, length]" : "")}, got [{string.Join(", ", inputIds.shape)}]", field: "input_ids");
        if (inputIds.numel() == 0)   // libtorch fails inside attention on an empty batch or an empty sequence
            throw new EncoderKitException(ErrorKind.BadInput, $"empty input [{string.Join(", ", inputIds.shape)}]: give at least one token", field: "input_ids");
        long length = inputIds.shape[^1];
        if (Spec.Embeddings.MaxPositions > 0 && length > Spec.Embeddings.MaxPositions)
            throw new EncoderKitException(ErrorKind.BadInput, $"{length} tokens is more than the model's {Spec.Embeddings.MaxPositions} positions", field: "input_ids");
        {
            if (inputIds.numel() > 0 && (inputIds.min().item<long>() < 0 || inputIds.max().item<long>() >= Spec.Embeddings.VocabSize))
                throw new EncoderKitException(ErrorKind.BadInput, $"ids must be in [0, {Spec.Embeddings.VocabSize})", field: "input_ids");
            if (tokenTypeIds is not null && Spec.Embeddings.TypeVocabSize > 0 && tokenTypeIds.numel() > 0 &&
                (tokenTypeIds.min().item<long>() < 0 || tokenTypeIds.max().item<long>() >= Spec.Embeddings.TypeVocabSize))
                throw new EncoderKitException(ErrorKind.BadInput, $"token type ids must be in [0, {Spec.Embeddings.TypeVocabSize})", field: "token_type_ids");
        }
        foreach (var (name, t) in new[] { ("attention_mask", attentionMask), ("token_type_ids", tokenTypeIds) })
        {
            if (t is not null && !t.shape.SequenceEqual(inputIds.shape))
                throw new EncoderKitException(ErrorKind.BadInput, $"shape [{string.Join(", ", t.shape)}] differs from input_ids [{string.Join(", ", inputIds.shape)}]", field: name);
        }
    }

    public void Dispose() => Network.Dispose();
}
