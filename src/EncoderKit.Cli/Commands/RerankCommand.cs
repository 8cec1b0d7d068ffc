using System.CommandLine;
using EncoderKit.Inference;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit rerank --model M --query Q [--input FILE] [--top-k N] [--raw-scores]</c>: scores each document (one per
/// line of the file or standard input) against the query with a cross-encoder, and prints one JSON line
/// {"index", "score"} per document, best first, as text-embeddings-inference's /rerank answers.
/// </summary>
static class RerankCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var query = new Option<string>("--query", "-q") { Description = "The query the documents are ranked for", Required = true };
        var input = new Option<string?>("--input", "-i") { Description = "Read documents from this file, one per line (- or none for standard input)" };
        var topK = new Option<int?>("--top-k", "-k") { Description = "Print only the best N documents" };
        var raw = new Option<bool>("--raw-scores") { Description = "Print the model's logits, without its activation (sigmoid by default)" };
        var batchSize = new BatchSizeOption();
        var command = new Command("rerank", "Rank documents by relevance to a query with a cross-encoder");
        model.AddTo(command);
        foreach (Option option in new Option[] { query, input, topK, raw, batchSize.Option }) command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var lines = TextInput.Lines(cli, parsed.GetValue(input)).ToList();
            if (lines.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "no documents to rank: give one per line", parsed.GetValue(input) ?? "stdin");
            if (lines.FindIndex(l => l.Line.Length == 0) is int empty and >= 0)
                throw new EncoderKitException(ErrorKind.BadInput, "an empty line: every (query, document) pair needs its document", lines[empty].Source, $"line {lines[empty].Number}");
            var limits = batchSize.Limits(parsed);
            using var encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            var ranked = await new CrossEncoder(encoder, cli.Warnings).RankAsync(parsed.GetValue(query)!, lines.Select(l => l.Line).ToList(), parsed.GetValue(topK),
                parsed.GetValue(raw), limits, cancellationToken);
            foreach (RankedDocument document in ranked) cli.Out.WriteLine(PipelineJson.Serialize(new { index = document.Index, score = document.Score }));
            return 0;
        });
        return command;
    }
}
