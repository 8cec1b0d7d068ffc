using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EncoderKit.IO;
using EncoderKit.Tests.Cli;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Tests.Embeddings;

/// <summary>`encoderkit embed`, `similarity` and `search`, run in-process (and once on a terminal, as a process).</summary>
public sealed class EmbeddingCommandTests : IDisposable
{
    readonly SentenceFolder _folder = SentenceFolder.MeanNormalized(settings: new { prompts = new { query = "search_query: ", document = "search_document: " } });
    readonly string _work = Path.Combine(Path.GetTempPath(), "encoderkit-embed-cli", Guid.NewGuid().ToString("N"));

    public EmbeddingCommandTests() => Directory.CreateDirectory(_work);

    public void Dispose()
    {
        _folder.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    static (int Exit, string Out, string Err) Run(string stdin, params string[] args)
    {
        var result = CliRunner.Run(stdin, args);
        return (result.Exit, result.Out, result.Err);
    }

    /// <summary>Batches differ between the command and these calls; padding changes rows only by float reassociation.</summary>
    static void Close(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() <= 1e-5, "embeddings differ");
    }

    static float[] Embedding(string jsonLine) =>
        JsonDocument.Parse(jsonLine).RootElement.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();

    [Fact]
    public void JsonLinesOutHoldWhatTheLibraryComputesInInputOrder()
    {
        string[] texts = ["What is TSNE?", "A much longer line that will sort first among these few lines of input.", "", "Hi"];
        var (exit, stdout, stderr) = Run(string.Join("\n", texts) + "\n", "embed", "--model", _folder.Path, "--prompt", "query", "--dim", "16", "--batch-size", "2");
        Assert.True(exit == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(texts.Length, lines.Length);
        using var encoder = SentenceEncoder.Load(_folder.Path, new SentenceEncoderOptions { TruncateDim = 16 });
        float[][] expected = encoder.Encode(texts, promptName: "query");
        for (int i = 0; i < texts.Length; i++) Close(expected[i], Embedding(lines[i]));

        // JSON lines in; --prefix is a literal prompt.
        string jsonl = string.Join("\n", texts.Select(t => JsonSerializer.Serialize(new { text = t })));
        var (exit2, stdout2, _) = Run(jsonl, "embed", "--model", _folder.Path, "--jsonl", "--prefix", "search_query: ", "--dim", "16");
        Assert.Equal(0, exit2);
        string[] lines2 = stdout2.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < texts.Length; i++) Close(expected[i], Embedding(lines2[i]));
    }

    [Fact]
    public void ABadJsonLineIsAnErrorNamingItsLineAndNothingIsWritten()
    {
        string output = Path.Combine(_work, "out.jsonl");
        File.WriteAllText(output, "previous content\n");
        var (exit, stdout, stderr) = Run("{\"text\": \"fine\"}\n{\"text\": \"also fine\"}\n{oops\n", "embed", "--model", _folder.Path, "--jsonl", "--output", output);
        Assert.Equal(2, exit);
        Assert.StartsWith("encoderkit: stdin: line 3: malformed JSON", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal("", stdout);
        Assert.Equal("previous content\n", File.ReadAllText(output));
        Assert.Equal(["out.jsonl"], Directory.GetFiles(_work).Select(Path.GetFileName));

        var (exit2, _, stderr2) = Run("{\"txt\": 1}\n", "embed", "--model", _folder.Path, "--jsonl");
        Assert.Equal(2, exit2);
        Assert.StartsWith("encoderkit: stdin: line 1: \"text\" must be a string", stderr2);
    }

    static string TenThousandLines() =>
        string.Join("\n", Enumerable.Range(0, 10_000).Select(i => $"line {i}: {string.Join(' ', Enumerable.Repeat("word", i % 37))}")) + "\n";

    [Fact, Trait("speed", "slow")]
    public void TenThousandLinesOnAPipeGiveNothingButResults()
    {
        var (exit, stdout, stderr) = Run(TenThousandLines(), "embed", "--model", _folder.Path, "--batch-size", "64");
        Assert.True(exit == 0, stderr);
        Assert.Equal("", stderr);   // no progress bar, no escape codes, no messages
        string[] lines = stdout.Split('\n');
        Assert.Equal(10_001, lines.Length);
        Assert.Equal("", lines[^1]);
        Assert.All(lines[..^1], line => Assert.Equal(64, Embedding(line).Length));
    }

    [Fact, Trait("speed", "slow")]
    public async Task OnATerminalAProgressBarShows()
    {
        string input = Path.Combine(_work, "in.txt"), output = Path.Combine(_work, "out.jsonl");
        File.WriteAllText(input, TenThousandLines());
        // `script` runs the command on a pseudo-terminal and copies what it shows to our standard output.
        string command = $"dotnet '{CliProcess.CliPath}' embed --model '{_folder.Path}' --input '{input}' --output '{output}' --batch-size 64";
        var psi = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[] { "-q", "-e", "-c", command, "/dev/null" }) psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "xterm-256color";
        psi.Environment["COLUMNS"] = "120";
        using Process p = Process.Start(psi)!;
        Task<string> screen = p.StandardOutput.ReadToEndAsync();
        p.StandardInput.Close();
        Assert.True(p.WaitForExit(300_000), "the command did not finish");
        string shown = await screen;
        Assert.True(p.ExitCode == 0, shown);
        Assert.Contains("embedding", shown);
        Assert.Contains("%", shown);
        Assert.Contains("\u001b[", shown);   // drawn with terminal control sequences
        Assert.Equal(10_000, File.ReadAllLines(output).Length);
        Assert.DoesNotContain("{\"embedding\"", shown);   // results went to the file, not the terminal
    }

    [Fact]
    public void NpyAndSafetensorsHoldTheSameMatrix()
    {
        string[] texts = ["one", "two three", "four five six"];
        string npy = Path.Combine(_work, "e.npy"), st = Path.Combine(_work, "e.safetensors");
        Assert.Equal(0, Run(string.Join("\n", texts), "embed", "--model", _folder.Path, "--format", "npy", "--output", npy).Exit);
        Assert.Equal(0, Run(string.Join("\n", texts), "embed", "--model", _folder.Path, "--format", "safetensors", "--output", st, "--precision", "int8").Exit);
        using var encoder = SentenceEncoder.Load(_folder.Path);
        float[][] expected = encoder.Encode(texts);

        byte[] bytes = File.ReadAllBytes(npy);
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], bytes[..8]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'shape': (3, 64)", header);
        float[] data = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(10 + headerLength)).ToArray();
        Close(expected.SelectMany(r => r).ToArray(), data);

        using SafetensorsFile file = SafetensorsFile.Open(st);
        Assert.True(file.TryGet("embeddings", out TensorInfo? info));
        Assert.Equal(TensorDtype.I8, info.Dtype);
        Assert.Equal([3L, 64L], info.Shape);
        Assert.Equal("int8", file.Metadata!["precision"]);
        QuantizedEmbeddings quantized = EmbeddingQuantizer.Quantize(expected, EmbeddingPrecision.Int8);
        Assert.Equal(quantized.Rows.SelectMany(r => r), file.Bytes("embeddings").ToArray());
    }

    [Fact]
    public void SimilarityGivesAMatrixOrPairScores()
    {
        using var encoder = SentenceEncoder.Load(_folder.Path);
        string[] texts = ["a cat", "a dog", "the stock market"];
        var (exit, stdout, stderr) = Run("", ["similarity", "--model", _folder.Path, "--json", .. texts]);
        Assert.True(exit == 0, stderr);
        float[][] matrix = JsonDocument.Parse(stdout).RootElement.GetProperty("scores").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        float[][] expected = encoder.Similarity(encoder.Encode(texts), encoder.Encode(texts));
        for (int i = 0; i < 3; i++) Close(expected[i], matrix[i]);

        var (exit2, stdout2, _) = Run("a cat\ta dog\nthe stock market\ta cat\n", "similarity", "--model", _folder.Path, "--pairs", "--function", "manhattan");
        Assert.Equal(0, exit2);
        string[] scores = stdout2.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, scores.Length);
        float[] pair = Similarity.Pairwise(encoder.Encode(["a cat", "the stock market"]), encoder.Encode(["a dog", "a cat"]), SimilarityFunction.Manhattan);
        Assert.Equal(pair[0], float.Parse(scores[0], System.Globalization.CultureInfo.InvariantCulture), 3);
        Assert.Equal(pair[1], float.Parse(scores[1], System.Globalization.CultureInfo.InvariantCulture), 3);
    }

    [Fact]
    public void ASecondSearchReadsTheCorpusEmbeddingsFromTheCache()
    {
        string corpus = Path.Combine(_work, "corpus.txt"), cache = Path.Combine(_work, "cache");
        File.WriteAllText(corpus, "The cat sat on the mat.\n\nStocks fell sharply today.\nDogs bark at night.\nA kitten is a young cat.\n");
        string[] args = ["search", "--model", _folder.Path, "--corpus", corpus, "--query", "young cats", "--top-k", "2", "--cache-dir", cache, "--json"];
        var first = Run("", args);
        Assert.True(first.Exit == 0, first.Err);
        Assert.Equal("", first.Err);
        string cached = Assert.Single(Directory.GetFiles(cache));
        DateTime written = File.GetLastWriteTimeUtc(cached);

        var second = Run("", args);
        Assert.Equal(0, second.Exit);
        Assert.Contains("read from the cache", second.Err);
        Assert.Equal(first.Out, second.Out);
        Assert.Equal(written, File.GetLastWriteTimeUtc(cached));

        // The hits: the model's "document" prompt on the corpus, "query" on the query, exact cosine, best first.
        using var encoder = SentenceEncoder.Load(_folder.Path);
        string[] documents = ["The cat sat on the mat.", "Stocks fell sharply today.", "Dogs bark at night.", "A kitten is a young cat."];
        int[] lines = [1, 3, 4, 5];
        IReadOnlyList<SearchHit> expected = ExactSearch.TopK(encoder.Encode("young cats", promptName: "query"), encoder.Encode(documents, promptName: "document"), 2);
        JsonElement hits = JsonDocument.Parse(first.Out).RootElement.GetProperty("hits");
        Assert.Equal(2, hits.GetArrayLength());
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(lines[expected[i].Index], hits[i].GetProperty("line").GetInt32());
            Assert.Equal(documents[expected[i].Index], hits[i].GetProperty("text").GetString());
            Assert.Equal(expected[i].Score, hits[i].GetProperty("score").GetSingle(), 5);
        }

        // Another corpus is embedded anew.
        File.AppendAllText(corpus, "One more line.\n");
        var third = Run("", args);
        Assert.Equal("", third.Err);
        Assert.Equal(2, Directory.GetFiles(cache).Length);
    }
}
