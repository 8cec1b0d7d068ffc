using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.Inference;
using EncoderKit.Tests.Cli;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// Every recipe in examples/recipes runs end to end through `encoderkit prepare-corpus` and `encoderkit pretrain
/// --recipe FILE`, the file as written, with command-line overrides for scale only: a tiny model of the recipe's
/// family (<see cref="TinyConfigs"/>) with the family's real tokenizer, a tiny corpus, a few steps, short sequences,
/// small batches (and the gradient accumulation and warmup that fit them).
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class ExampleRecipeTests
{
    public sealed record Example(string Recipe, string Family, string Architecture, string Tokenizer, bool Japanese, string[] Scale, int Steps)
    {
        public override string ToString() => Recipe;
    }

    static readonly Example[] All =
    [
        new("bert-base-cased.json", "bert", "BertForPreTraining", "bert-base-cased", Japanese: false,
            ["--curriculum", "16:3,32:2", "--batch-size", "4", "--warmup-steps", "2", "--save-steps", "2"], Steps: 5),
        new("nomic-bert-2048.json", "nomic_bert", "NomicBertForPreTraining", "nomic-bert-2048", Japanese: false,
            ["--max-steps", "4", "--seq-len", "32", "--batch-size", "4", "--gradient-accumulation", "2", "--save-steps", "2"], Steps: 4),
        new("tohokunlp-bert-alpha.json", "llama_enc", "LlamaEncForMaskedLM", "tohokunlp-bert-500m-sq4096-alpha", Japanese: true,
            ["--max-steps", "4", "--seq-len", "32", "--batch-size", "4", "--warmup-steps", "1", "--save-steps", "2"], Steps: 4),
        new("retrieva-bert-1.3b.json", "retrieva_bert", "RetrievaBertForMaskedLM", "retrieva-bert-1.3b", Japanese: true,
            ["--curriculum", "16:1,24:1,32:1,48:1", "--batch-size", "4", "--gradient-accumulation", "2", "--save-steps", "2"], Steps: 4),
    ];

    public static TheoryData<Example> Examples => [.. All];

    [Fact]
    public void EveryExampleRecipeIsTested() =>
        Assert.Equal(Directory.GetFiles(Path.Combine(RecipeTests.RepositoryRoot(), "examples", "recipes"), "*.json").Select(Path.GetFileName).Order(),
            All.Select(e => e.Recipe).Order());

    [Theory, MemberData(nameof(Examples))]
    public void TheRecipeRunsAtATinyScale(Example example)
    {
        using var folder = new TempFolder();
        string tokenizerFolder = ReferenceData.Tokenizer(example.Tokenizer);
        Tokenizer tokenizer = Tokenizer.FromFolder(tokenizerFolder);
        int pad = tokenizer.PadTokenId!.Value, cls = (tokenizer.ClsTokenId ?? tokenizer.BosTokenId)!.Value, sep = (tokenizer.SepTokenId ?? tokenizer.EosTokenId)!.Value;
        File.WriteAllText(folder.File("config.json"), TinyConfigs.For(example.Family, tokenizer.VocabSize, pad, cls, sep, example.Architecture).ToJsonString());
        string[] sentences = example.Japanese
            ? ["猫がマットの上に座った。", "犬は公園まで走った。", "大きな木の下に赤い家がある。", "川は山から海へ流れる。"]
            : ["The cat sat on the mat.", "A dog ran to the park.", "There is a red house under the big tree.", "The river flows from the mountain."];
        var random = new Random(2);
        File.WriteAllLines(folder.File("corpus.txt"), Enumerable.Range(0, 60).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(2, 8)).Select(_ => sentences[random.Next(4)]))));
        var prepared = CliRunner.Run("", "prepare-corpus", "--tokenizer", tokenizerFolder, "--input", folder.File("corpus.txt"), "--output", folder.File("corpus"));
        Assert.True(prepared.Exit == 0, prepared.Err);

        string recipe = Path.Combine(RecipeTests.RepositoryRoot(), "examples", "recipes", example.Recipe), output = folder.File("run");
        var run = CliRunner.Run("", ["pretrain", "--recipe", recipe, "--config", folder.File("config.json"), "--tokenizer", tokenizerFolder,
            "--corpus", folder.File("corpus"), "--output", output, "--threads", "1", .. example.Scale]);
        Assert.True(run.Exit == 0, run.Err);

        JsonNode[] lines = [.. File.ReadAllLines(Path.Combine(output, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!)];
        Assert.Equal(Enumerable.Range(1, example.Steps).Select(s => (long)s), lines.Select(l => l["step"]!.GetValue<long>()));
        Assert.All(lines, l => Assert.True(double.IsFinite(l["loss"]!.GetValue<double>()) && l["loss"]!.GetValue<double>() > 0));
        if (File.ReadAllText(recipe).Contains("\"_unverified\"", StringComparison.Ordinal)) Assert.Contains("is unverified", run.Err);
        if (File.ReadAllText(recipe).Contains("\"average_last\"", StringComparison.Ordinal))
            Assert.True(File.Exists(Path.Combine(output, "averaged", "model.safetensors")), "average_last wrote no averaged model");

        // The output is a model folder of the family's MLM class, with its tokenizer: fill-mask loads and runs it.
        using EncoderModel model = EncoderModel.Load(output, new ComputeOptions());
        var candidates = new FillMask(model).Predict(sentences[0].Replace(example.Japanese ? "マット" : "mat", tokenizer.MaskToken), topK: 3);
        Assert.Equal(3, Assert.Single(candidates).Count);
    }
}
