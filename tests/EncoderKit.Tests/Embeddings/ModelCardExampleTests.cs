using System.Text.Json;
using EncoderKit.Modeling;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tests.Cli;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// The modernbert-embed-base model card's example (task prefixes, mean pooling, normalisation, Matryoshka width,
/// a query × document similarity matrix) through the API and the command line, on every reference fixture whose family
/// this build carries; and the fixtures' own token ids through `encoderkit embed`, against their expected pooled outputs.
/// </summary>
[Trait("speed", "slow")]
public sealed class ModelCardExampleTests
{
    static readonly string[] Queries = ["What is TSNE?", "Who is Laurens van der Maaten?"];
    static readonly string[] Documents = ["TSNE is a dimensionality reduction algorithm created by Laurens van der Maaten"];

    public static TheoryData<string> Fixtures => new(SentenceFolder.RunnableFixtures());

    static (int Exit, string Out, string Err) Run(string stdin, params string[] args)
    {
        var result = CliRunner.Run(stdin, args);
        return (result.Exit, result.Out, result.Err);
    }

    /// <summary>Tokenizer → encoder → mean → first <paramref name="dims"/> → L2 normalisation, step by step.</summary>
    static float[] ByHand(EncoderModel model, Tokenizer tokenizer, string text, int dims)
    {
        using var scope = NewDisposeScope();
        int[] ids = tokenizer.Encode(text).Ids;
        using var outputs = model.Forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]), null, null, Outputs.LastHiddenState);
        Tensor mean = outputs.LastHiddenState[0].mean([0L]).narrow(0, 0, dims);
        return (mean / mean.norm()).data<float>().ToArray();
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void TheCardsExampleThroughTheApiAndTheCommandLine(string name)
    {
        using var folder = SentenceFolder.MeanNormalized(name);
        int dims = folder.Hidden / 2;
        using var encoder = SentenceEncoder.Load(folder.Path, new SentenceEncoderOptions { TruncateDim = dims });
        Tokenizer tokenizer = Tokenizer.FromFolder(folder.Path);

        float[][] queries = encoder.Encode(Queries, prompt: "search_query: ");
        float[][] documents = encoder.Encode(Documents, prompt: "search_document: ");
        for (int i = 0; i < Queries.Length; i++)
            Assert.True(queries[i].Zip(ByHand(encoder.Model, tokenizer, "search_query: " + Queries[i], dims), (a, b) => Math.Abs(a - b)).Max() < 1e-5, $"query {i}");
        Assert.True(documents[0].Zip(ByHand(encoder.Model, tokenizer, "search_document: " + Documents[0], dims), (a, b) => Math.Abs(a - b)).Max() < 1e-5, "document");
        float[][] similarities = encoder.Similarity(queries, documents);

        string docs = Path.Combine(folder.Path, "documents.txt");
        File.WriteAllLines(docs, Documents);
        var (exit, stdout, stderr) = Run("", ["similarity", "--model", folder.Path, "--dim", dims.ToString(), "--prefix", "search_query: ",
            "--against", docs, "--against-prefix", "search_document: ", "--json", .. Queries]);
        Assert.True(exit == 0, stderr);
        JsonElement scores = JsonDocument.Parse(stdout).RootElement.GetProperty("scores");
        for (int i = 0; i < Queries.Length; i++) Assert.Equal(similarities[i][0], scores[i][0].GetSingle(), 5);
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void TheFixturesTokenIdsThroughEmbedMatchTheReference(string name)
    {
        using var fixture = new Fixture(name);
        using var folder = SentenceFolder.MeanNormalized(name);
        using Tensor ids = fixture.InputIds, mask = fixture.AttentionMask;
        using Tensor? types = fixture.TokenTypeIds;
        var lines = new List<string>();
        for (int r = 0; r < ids.shape[0]; r++)
        {
            int length = (int)mask[r].sum().item<long>();
            int[] Take(Tensor t) => t[r].narrow(0, 0, length).to_type(ScalarType.Int32).data<int>().ToArray();
            lines.Add(JsonSerializer.Serialize(new { input_ids = Take(ids), token_type_ids = types is null ? null : Take(types) }));
        }
        string stdin = string.Join("\n", lines) + "\n";

        float[][] Embed(params string[] extra)
        {
            var (exit, stdout, stderr) = Run(stdin, ["embed", "--model", folder.Path, "--jsonl", .. extra]);
            Assert.True(exit == 0, stderr);
            return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        }
        void Close(float[][] actual, Tensor expected, string what)
        {
            using Tensor got = tensor(actual.SelectMany(x => x).ToArray(), [actual.Length, actual[0].Length]);
            TensorAssert.Close(got, expected, 1e-4, what: $"{name}: {what}");
        }

        using Tensor normalized = fixture.Expected("mean_pooled_normalized"), pooled = fixture.Expected("mean_pooled");
        Close(Embed(), normalized, "mean_pooled_normalized");
        Close(Embed("--no-normalize"), pooled, "mean_pooled");
        int dims = folder.Hidden / 4;
        using Tensor sliced = pooled.narrow(1, 0, dims);
        using Tensor renormalized = sliced / sliced.norm(1, keepdim: true, p: 2);
        Close(Embed("--dim", dims.ToString()), renormalized, $"first {dims} dims, normalised");
    }
}
