using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit search --model M --corpus FILE --query TEXT [--top-k N]</c>: exact cosine top-k over the corpus (one
/// document per non-empty line). The corpus embeddings are cached on disk, keyed by the model's files, the settings
/// and the corpus text, so searching the same corpus again embeds only the query.
/// </summary>
/// <remarks>
/// Prompts follow sentence-transformers' encode_query / encode_document: the model's "query" prompt for queries and
/// its "document", "passage" or "corpus" prompt for documents, when it has them; --query-prefix and --document-prefix
/// give literal ones ("search_query: ", "search_document: ").
/// </remarks>
static class SearchCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new SentenceModelOptions();
        var corpus = new Option<string>("--corpus") { Description = "The documents, one per line", Required = true };
        var query = new Option<string[]>("--query", "-q") { Description = "A query (repeat for several)", Required = true, AllowMultipleArgumentsPerToken = false };
        var topK = new Option<int>("--top-k", "-k") { Description = "How many documents to return per query", DefaultValueFactory = _ => 10 };
        var queryPrompt = new Option<string?>("--query-prompt") { Description = "Prompt name for queries (default: the model's \"query\" prompt, if any)" };
        var queryPrefix = new Option<string?>("--query-prefix") { Description = "Literal prompt for queries, e.g. \"search_query: \"" };
        var documentPrompt = new Option<string?>("--document-prompt") { Description = "Prompt name for documents (default: the model's \"document\", \"passage\" or \"corpus\" prompt)" };
        var documentPrefix = new Option<string?>("--document-prefix") { Description = "Literal prompt for documents, e.g. \"search_document: \"" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Where corpus embeddings are kept (default: $ENCODERKIT_CACHE or ~/.cache/encoderkit, corpus-embeddings/)" };
        var noCache = new Option<bool>("--no-cache") { Description = "Embed the corpus without reading or writing the cache" };
        var json = new Option<bool>("--json") { Description = "One JSON object per query: {\"query\", \"hits\": [{\"rank\", \"score\", \"line\", \"text\"}]}" };
        var command = new Command("search", "Exact cosine top-k search of a corpus file; corpus embeddings are cached between runs.")
        {
            corpus, query, topK, queryPrompt, queryPrefix, documentPrompt, documentPrefix, cacheDir, noCache, json,
        };
        model.AddTo(command);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            int k = parsed.GetValue(topK);
            if (k < 1) throw new EncoderKitException(ErrorKind.BadInput, $"must be at least 1, got {k}", field: "--top-k");
            string corpusFile = parsed.GetValue(corpus)!;
            List<InputText> documents = TextInput.Read(cli, [], corpusFile, jsonl: false).Where(d => d.Text.Trim().Length > 0).ToList();
            if (documents.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "the corpus has no non-empty line", corpusFile);
            string[] queries = parsed.GetValue(query) ?? [];

            using SentenceEncoder encoder = await model.LoadAsync(parsed, cli, cancellationToken);
            EmbedOptions options = model.Embed(parsed);
            string? documentName = parsed.GetValue(documentPrompt), documentText = parsed.GetValue(documentPrefix);
            if (documentName is null && documentText is null) documentName = encoder.DocumentPromptName;
            string? queryName = parsed.GetValue(queryPrompt), queryText = parsed.GetValue(queryPrefix);
            if (queryName is null && queryText is null) queryName = encoder.QueryPromptName;

            string[] texts = documents.Select(d => d.Text).ToArray();
            float[][] corpusEmbeddings;
            if (parsed.GetValue(noCache))
                corpusEmbeddings = Embed(cli, encoder, texts, documentName, documentText, options, cancellationToken);
            else
            {
                var cache = new CorpusEmbeddingCache(parsed.GetValue(cacheDir) ?? CorpusEmbeddingCache.DefaultDirectory);
                (corpusEmbeddings, bool fromCache) = EncodeProgressView.Run(cli, "embedding the corpus", texts.Length, encoder.BatchSize, progress =>
                    cache.GetOrEmbed(encoder, texts, documentName, documentText, options with { Progress = progress }, cancellationToken));
                if (fromCache) cli.Error.WriteLine($"encoderkit: corpus embeddings of {texts.Length} documents read from the cache ({cache.Directory})");
            }

            float[][] queryEmbeddings = encoder.Encode(queries, queryName, queryText, options, cancellationToken);
            TextWriter writer = cli.Out;
            for (int q = 0; q < queries.Length; q++)
            {
                IReadOnlyList<SearchHit> hits = ExactSearch.TopK(queryEmbeddings[q], corpusEmbeddings, k, SimilarityFunction.Cosine);
                if (parsed.GetValue(json))
                {
                    var found = hits.Select((h, rank) => new { rank = rank + 1, score = h.Score, line = documents[h.Index].Line, text = documents[h.Index].Text });
                    writer.WriteLine(JsonSerializer.Serialize(new { query = queries[q], hits = found }));
                    continue;
                }
                if (queries.Length > 1) writer.WriteLine($"# {queries[q]}");
                for (int rank = 0; rank < hits.Count; rank++)
                {
                    InputText document = documents[hits[rank].Index];
                    writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rank + 1}\t{hits[rank].Score:0.0000}\t{document.Line}\t{document.Text}"));
                }
            }
            return 0;
        });
        return command;
    }

    static float[][] Embed(CliInvocation cli, SentenceEncoder encoder, string[] texts, string? promptName, string? prompt, EmbedOptions options, CancellationToken cancellationToken) =>
        EncodeProgressView.Run(cli, "embedding the corpus", texts.Length, encoder.BatchSize, progress =>
            encoder.Encode(texts, promptName, prompt, options with { Progress = progress }, cancellationToken));
}
