using EncoderKit.Contrastive;
using EncoderKit.Training;
using Parquet.Serialization;

namespace EncoderKit.Tests.Contrastive;

/// <summary>Reading contrastive training data: the layouts it takes, and an error naming file, line and column for what it does not.</summary>
public sealed class ContrastiveDataTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    string Jsonl(params string[] lines)
    {
        string path = folder.File("train.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public async Task PairsTakeOneHardNegativeOrAListOfThem()
    {
        var one = await ContrastiveData.ReadAsync(Jsonl("""{"anchor": "q", "positive": "p", "negative": "n"}"""), scored: false);
        Assert.Equal(["q", "p", "n"], one[0].Texts);
        var many = await ContrastiveData.ReadAsync(Jsonl("""{"anchor": "q", "positive": "p", "negatives": ["n1", "n2"], "dataset": "msmarco"}"""), scored: false);
        Assert.Equal(["q", "p", "n1", "n2"], many[0].Texts);
        Assert.Equal("msmarco", many[0].Dataset);
        var scored = await ContrastiveData.ReadAsync(Jsonl("""{"sentence1": "a", "sentence2": "b", "score": 0.25}""", """{"sentence1": "c", "sentence2": "d", "score": 1}"""), scored: true);
        Assert.Equal([0.25, 1.0], scored.Select(r => r.Score));
    }

    sealed class ParquetPair
    {
        public string Query { get; set; } = "";
        public string Passage { get; set; } = "";
        public List<string> Hard { get; set; } = [];
    }

    [Fact]
    public async Task ParquetColumnsAreNamedByTheColumnOptions()
    {
        await ParquetSerializer.SerializeAsync(new[]
        {
            new ParquetPair { Query = "q1", Passage = "p1", Hard = ["n1", "m1"] },
            new ParquetPair { Query = "q2", Passage = "p2", Hard = ["n2", "m2"] },
        }, folder.File("train.parquet"));
        var rows = await ContrastiveData.ReadAsync(folder.File("train.parquet"), scored: false,
            new ContrastiveColumns { Anchor = "Query", Positive = "Passage", Negatives = "Hard" });
        Assert.Equal(["q2", "p2", "n2", "m2"], rows[1].Texts);
        Assert.Null(rows[1].Dataset);
    }

    public static TheoryData<string[], bool, string> BadFiles => new()
    {
        { ["""{"anchor": "q", "positive": "p"}""", """{"anchor": "q2"}"""], false, "line 2: column 'positive' is missing" },
        { ["""{"anchor": "q", "positive": "p"}""", """{"anchor": "q2", "positive": """], false, "line 2: not JSON" },
        { ["""{"anchor": "q", "positive": 3}"""], false, "line 1: column 'positive' is 3, not a string" },
        { ["""{"anchor": "q", "positive": "p", "negatives": ["a", "b"]}""", "", """{"anchor": "q", "positive": "p", "negatives": ["a"]}"""], false, "line 3: 1 hard negatives, but line 1 has 2" },
        { ["""{"anchor": "q", "positive": "p", "negative": "a", "negatives": ["b"]}"""], false, "line 1: column 'negatives' and 'negative' are both given" },
        { ["""{"anchor": "q", "positive": "p", "dataset": "x"}""", """{"anchor": "q", "positive": "p"}"""], false, "line 2: column 'dataset' is missing, but line 1 names its dataset" },
        { ["""{"sentence1": "a", "sentence2": "b", "score": "high"}"""], true, "line 1: column 'score' is \"high\", not a finite number" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task BadRowsNameTheFileTheLineAndTheColumn(string[] lines, bool scored, string expected)
    {
        string path = Jsonl(lines);
        var error = await Assert.ThrowsAsync<EncoderKitException>(() => ContrastiveData.ReadAsync(path, scored));
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task AModelWithADenseModuleIsRefusedBeforeTraining()
    {
        string model = TinyRetrieval.Model(folder.File("base"));
        File.WriteAllText(Path.Combine(model, "modules.json"), """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
             {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
            """);
        Directory.CreateDirectory(Path.Combine(model, "1_Pooling"));
        File.WriteAllText(Path.Combine(model, "1_Pooling", "config.json"), """{"word_embedding_dimension": 32, "pooling_mode_mean_tokens": true}""");
        Directory.CreateDirectory(Path.Combine(model, "2_Dense"));
        string train = Jsonl("""{"anchor": "q", "positive": "p"}""", """{"anchor": "q2", "positive": "p2"}""");
        var error = await Assert.ThrowsAsync<EncoderKitException>(() => EmbeddingTrainer.RunAsync(
            new EmbeddingTrainingSettings(model, train, new TrainingRunOptions(folder.File("out")) { MaxSteps = 1 })));
        Assert.Contains("Dense module ('2_Dense')", error.Message);
        Assert.False(Directory.Exists(folder.File("out")));
    }
}
