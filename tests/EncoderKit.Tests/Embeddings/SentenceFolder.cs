using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EncoderKit.IO;
using EncoderKit.Modeling;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// A sentence-transformers folder built in a temporary directory around a reference fixture: the fixture's
/// config.json and weights and its family's tokenizer files are linked (never copied into the repository), and
/// modules.json, the Pooling config and friends are written here, as sentence-transformers' save() lays them out.
/// </summary>
public sealed class SentenceFolder : IDisposable
{
    /// <summary>Reference model fixture → the tokenizer folder of the checkpoint it stands for.</summary>
    public static readonly IReadOnlyDictionary<string, string> TokenizerOf = new Dictionary<string, string>
    {
        ["bert"] = "bert-base-cased",
        ["bert-seqcls"] = "bert-base-cased",
        ["modernbert"] = "modernbert-embed-base",
        ["nomic_bert"] = "nomic-bert-2048",
        ["llama_enc"] = "tohokunlp-bert-500m-sq4096-alpha",
        ["retrieva_bert"] = "retrieva-bert-1.3b",
    };

    /// <summary>The fixtures whose family this build carries: a family that lands lights its fixture up.</summary>
    public static IEnumerable<string> RunnableFixtures() => TokenizerOf.Keys.Where(name =>
    {
        var config = ConfigJson.Load(System.IO.Path.Combine(ReferenceData.Model(name), "config.json"));
        return ModelFamilies.All.Any(f => f.Recognizes(config));
    });

    public SentenceFolder(string fixture = "bert")
    {
        Fixture = fixture;
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "encoderkit-st-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        string model = ReferenceData.Model(fixture);
        Link(System.IO.Path.Combine(model, "config.json"));
        Link(System.IO.Path.Combine(model, "model.safetensors"));
        foreach (string file in Directory.GetFiles(ReferenceData.Tokenizer(TokenizerOf[fixture])))
            if (!file.EndsWith(".jsonl", StringComparison.Ordinal) && !file.EndsWith("disagreements.json", StringComparison.Ordinal)) Link(file);
        // The family's reading of its config: NomicBERT names the width n_embd, not hidden_size.
        var config = ConfigJson.Load(System.IO.Path.Combine(model, "config.json"));
        Hidden = ModelFamilies.Recognize(config).Spec(config, null).Hidden;
    }

    public string Fixture { get; }
    public string Path { get; }
    public int Hidden { get; }

    void Link(string target) => File.CreateSymbolicLink(System.IO.Path.Combine(Path, System.IO.Path.GetFileName(target)), target);

    public string File_(string relative) => System.IO.Path.Combine(Path, relative);

    public SentenceFolder WriteJson(string relative, object value)
    {
        string file = File_(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, value as string ?? JsonSerializer.Serialize(value));
        return this;
    }

    /// <summary>modules.json listing Transformer, Pooling, then <paramref name="after"/> as (folder, class) pairs.</summary>
    public SentenceFolder Modules(params (string Path, string Type)[] after)
    {
        var modules = new List<object>
        {
            new { idx = 0, name = "0", path = "", type = "sentence_transformers.models.Transformer" },
            new { idx = 1, name = "1", path = "1_Pooling", type = "sentence_transformers.models.Pooling" },
        };
        for (int i = 0; i < after.Length; i++)
            modules.Add(new { idx = i + 2, name = (i + 2).ToString(), path = after[i].Path, type = "sentence_transformers.models." + after[i].Type });
        return WriteJson("modules.json", modules);
    }

    /// <summary>The classic pooling config, every flag written (as published models have it).</summary>
    public SentenceFolder ClassicPooling(string mode = "mean", bool includePrompt = true, int? dimension = null) => WriteJson("1_Pooling/config.json", new Dictionary<string, object>
    {
        ["word_embedding_dimension"] = dimension ?? Hidden,
        ["pooling_mode_cls_token"] = mode == "cls",
        ["pooling_mode_mean_tokens"] = mode == "mean",
        ["pooling_mode_max_tokens"] = mode == "max",
        ["pooling_mode_mean_sqrt_len_tokens"] = mode == "mean_sqrt_len_tokens",
        ["pooling_mode_weightedmean_tokens"] = mode == "weightedmean",
        ["pooling_mode_lasttoken"] = mode == "lasttoken",
        ["include_prompt"] = includePrompt,
    });

    /// <summary>The newer form: one pooling_mode string.</summary>
    public SentenceFolder NewPooling(string mode, bool includePrompt = true) =>
        WriteJson("1_Pooling/config.json", new { word_embedding_dimension = Hidden, pooling_mode = mode, include_prompt = includePrompt });

    /// <summary>A standard mean-pooled, normalised sentence-transformers folder.</summary>
    public static SentenceFolder MeanNormalized(string fixture = "bert", object? settings = null)
    {
        var folder = new SentenceFolder(fixture).Modules(("2_Normalize", "Normalize")).ClassicPooling();
        if (settings is not null) folder.WriteJson("config_sentence_transformers.json", settings);
        return folder;
    }

    /// <summary>A Dense module folder: config.json and linear.weight/linear.bias in safetensors or a torch.save zip.</summary>
    public SentenceFolder Dense(string relative, float[,] weight, float[]? bias, string? activation, bool pickle = false)
    {
        int outFeatures = weight.GetLength(0), inFeatures = weight.GetLength(1);
        WriteJson(relative + "/config.json", new Dictionary<string, object?>
        {
            ["in_features"] = inFeatures, ["out_features"] = outFeatures, ["bias"] = bias is not null, ["activation_function"] = activation,
        });
        var tensors = new List<(string, float[], long[])> { ("linear.weight", weight.Cast<float>().ToArray(), [outFeatures, inFeatures]) };
        if (bias is not null) tensors.Add(("linear.bias", bias, [outFeatures]));
        if (pickle) TorchSave.Write(File_(relative + "/pytorch_model.bin"), tensors);
        else
            SafetensorsWriter.Write(File_(relative + "/model.safetensors"),
                tensors.Select(t => new TensorData(t.Item1, TensorDtype.F32, t.Item3, MemoryMarshal.AsBytes(t.Item2.AsSpan()).ToArray())));
        return this;
    }

    /// <summary>A LayerNorm module folder: config.json {"dimension"} and norm.weight / norm.bias.</summary>
    public SentenceFolder LayerNorm(string relative, float[] weight, float[] bias)
    {
        WriteJson(relative + "/config.json", new { dimension = weight.Length });
        SafetensorsWriter.Write(File_(relative + "/model.safetensors"),
        [
            new TensorData("norm.weight", TensorDtype.F32, [weight.Length], MemoryMarshal.AsBytes(weight.AsSpan()).ToArray()),
            new TensorData("norm.bias", TensorDtype.F32, [bias.Length], MemoryMarshal.AsBytes(bias.AsSpan()).ToArray()),
        ]);
        return this;
    }

    /// <summary>Moves the encoder's files into <paramref name="relative"/>, as sentence-transformers 0.x laid folders out.</summary>
    public SentenceFolder MoveTransformerTo(string relative)
    {
        string dir = File_(relative);
        Directory.CreateDirectory(dir);
        foreach (string link in Directory.GetFiles(Path))
        {
            if (new FileInfo(link).LinkTarget is not { } target) continue;
            File.CreateSymbolicLink(System.IO.Path.Combine(dir, System.IO.Path.GetFileName(link)), target);
            File.Delete(link);
        }
        return this;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Writes what torch.save writes for a state dict of float32 tensors (no Python torch on this machine): a zip with
/// archive/data.pkl (protocol 2: OrderedDict of _rebuild_tensor_v2 calls, persistent ids for the storages) and one
/// archive/data/N record per tensor.
/// </summary>
static class TorchSave
{
    public static void Write(string path, IReadOnlyList<(string Name, float[] Data, long[] Shape)> tensors)
    {
        var p = new MemoryStream();
        int memo = 0;
        void Op(params byte[] b) => p.Write(b);
        void Put() => Op((byte)'q', (byte)memo++);
        void Global(string module, string name) { Op((byte)'c'); Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); Put(); }
        void Str(string s) { byte[] b = Encoding.UTF8.GetBytes(s); Op((byte)'X'); Op(BitConverter.GetBytes(b.Length)); Op(b); Put(); }
        void Int(long v) { Op((byte)'J'); Op(BitConverter.GetBytes((int)v)); }
        void Tuple(long[] values) { Op((byte)'('); foreach (long v in values) Int(v); Op((byte)'t'); Put(); }

        Op(0x80, 2);
        Global("collections", "OrderedDict"); Op((byte)')'); Op((byte)'R'); Put();
        Op((byte)'(');
        for (int i = 0; i < tensors.Count; i++)
        {
            var (name, data, shape) = tensors[i];
            long[] stride = new long[shape.Length];
            for (int d = shape.Length - 1, s = 1; d >= 0; s *= (int)shape[d], d--) stride[d] = s;
            Str(name);
            Global("torch._utils", "_rebuild_tensor_v2");
            Op((byte)'(');
            Op((byte)'('); Str("storage"); Global("torch", "FloatStorage"); Str(i.ToString()); Str("cpu"); Int(data.Length); Op((byte)'t'); Put(); Op((byte)'Q');
            Int(0); Tuple(shape); Tuple(stride); Op(0x89);
            Global("collections", "OrderedDict"); Op((byte)')'); Op((byte)'R'); Put();
            Op((byte)'t'); Put(); Op((byte)'R'); Put();
        }
        Op((byte)'u');
        Op((byte)'.');

        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        void Add(string entry, byte[] bytes)
        {
            using Stream s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
        Add("archive/data.pkl", p.ToArray());
        Add("archive/byteorder", "little"u8.ToArray());
        for (int i = 0; i < tensors.Count; i++) Add($"archive/data/{i}", MemoryMarshal.AsBytes(tensors[i].Data.AsSpan()).ToArray());
        Add("archive/version", "3\n"u8.ToArray());
    }
}
