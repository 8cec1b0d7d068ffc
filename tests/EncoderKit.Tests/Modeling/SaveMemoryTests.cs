using EncoderKit.IO;
using Xunit.Abstractions;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Save streams each tensor from native memory to the file, so it holds no managed copy of the model: the managed
/// memory it allocates is a buffer and a header, whatever the model's size. (Native peak during a save is measured by
/// the save bench: bench/EncoderKit.Bench save.)
/// </summary>
public sealed class SaveMemoryTests(ITestOutputHelper log)
{
    // ~77 MB of fp32 weights: a copy of even a tenth of them would show above the fixed cost (two 1 MiB file buffers).
    const string Config = """
        {"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 512, "num_hidden_layers": 1,
         "num_attention_heads": 8, "intermediate_size": 2048, "vocab_size": 30522, "max_position_embeddings": 512,
         "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
        """;

    [Fact]
    public void SavingAllocatesFarLessManagedMemoryThanTheModelHolds()
    {
        using var model = EncoderModel.CreateRandom(ConfigJson.Parse(Config, "in-test config"));
        long modelBytes = model.Network.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
        using var folder = new TempFolder();

        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Save(folder.Path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        log.WriteLine($"model {modelBytes / 1e6:F1} MB, managed allocation during Save {allocated / 1e6:F2} MB");
        Assert.True(modelBytes > 64_000_000, $"the model is only {modelBytes} bytes");
        Assert.True(allocated < modelBytes / 16, $"Save allocated {allocated} managed bytes for a {modelBytes}-byte model");
        Assert.Equal(modelBytes, new FileInfo(folder.File("model.safetensors")).Length - 8 - HeaderLength(folder.File("model.safetensors")));
    }

    static long HeaderLength(string file)
    {
        using var stream = File.OpenRead(file);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        return (long)BitConverter.ToUInt64(length);
    }
}
