using System.CommandLine;
using System.Globalization;
using EncoderKit.Compute;
using EncoderKit.Contrastive;
using EncoderKit.Training;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit train-embeddings --model M --train F [--validation DIR] --output DIR</c>: contrastive training of a
/// sentence embedding model on (anchor, positive[, negatives]) pairs or scored pairs, as sentence-transformers trains one
/// (MNRL, its symmetric and GradCache forms, CoSENT, Matryoshka). The output folder ends as a sentence-transformers
/// model (the best evaluated one with --validation), beside the checkpoints, train_log.jsonl and the curves.
/// </summary>
static class TrainEmbeddingsCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new ModelOptions();
        var train = new Option<string>("--train") { Description = "Training data: .jsonl or .parquet rows of anchor, positive and optional negative / negatives [...] (cosent: sentence1, sentence2, score)", Required = true };
        var validation = new Option<string?>("--validation") { Description = "A BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv) scored by nDCG@10, MRR@10 and recall@100; the best model is kept" };
        var validationSplit = new Option<string>("--validation-split") { Description = "The qrels file of --validation", DefaultValueFactory = _ => "dev" };
        var training = new TrainingRunCliOptions(defaultBatchSize: 32, defaultLearningRate: 5e-5);
        var loss = new Option<string>("--loss") { Description = "mnrl, mnrl-symmetric, cached-mnrl (GradCache) or cosent", DefaultValueFactory = _ => "mnrl" };
        var miniBatch = new Option<int>("--mini-batch-size") { Description = "cached-mnrl: rows embedded at once (memory of this many, gradients of the whole batch)", DefaultValueFactory = _ => 32 };
        var dims = new Option<string?>("--matryoshka-dims") { Description = "Train these widths at once, e.g. 768,512,256,128,64" };
        var weights = new Option<string?>("--matryoshka-weights") { Description = "Each width's weight in the loss (default 1 each)" };
        var queryPrompt = new Option<string?>("--query-prompt") { Description = "Put before every anchor (sentence1), e.g. \"search_query: \"; saved as the prompt \"query\"" };
        var queryPromptName = new Option<string?>("--query-prompt-name") { Description = "The anchors' prompt by its name in the model's config_sentence_transformers.json" };
        var documentPrompt = new Option<string?>("--document-prompt") { Description = "Put before every positive and negative (sentence2), e.g. \"search_document: \"; saved as the prompt \"document\"" };
        var documentPromptName = new Option<string?>("--document-prompt-name") { Description = "The documents' prompt by its name in the model's config" };
        var noDuplicates = new Option<bool>("--no-duplicates") { Description = "Keep rows that share a text out of one batch (they would be false negatives)" };
        var maxLength = new Option<int?>("--max-length") { Description = "Most tokens per text (default: the model's max_seq_length); saved in the output" };
        var metric = new Option<string>("--metric-for-best") { Description = "The validation metric that picks the best model: ndcg_at_10, mrr_at_10, recall_at_100, or one at a width (ndcg_at_10_dim_256)", DefaultValueFactory = _ => "ndcg_at_10" };
        var defaults = new ContrastiveColumns();
        Option<string> Column(string name, string value, string what) => new(name) { Description = $"Field of {what}", DefaultValueFactory = _ => value };
        var anchor = Column("--anchor-column", defaults.Anchor, "the anchor (query)");
        var positive = Column("--positive-column", defaults.Positive, "the positive (document)");
        var negative = Column("--negative-column", defaults.Negative, "one hard negative");
        var negatives = Column("--negatives-column", defaults.Negatives, "a list of hard negatives");
        var dataset = Column("--dataset-column", defaults.Dataset, "the row's source (each batch draws from one)");
        var sentence1 = Column("--sentence1-column", defaults.Sentence1, "a scored pair's first sentence");
        var sentence2 = Column("--sentence2-column", defaults.Sentence2, "a scored pair's second sentence");
        var score = Column("--score-column", defaults.Score, "a scored pair's gold similarity");
        var command = new Command("train-embeddings", "Train a sentence embedding model contrastively (in-batch negatives, GradCache, Matryoshka, prompts)");
        model.AddTo(command);
        foreach (Option option in new Option[] { train, validation, validationSplit }.Concat(training.All).Concat([loss, miniBatch, dims, weights, queryPrompt,
            queryPromptName, documentPrompt, documentPromptName, noDuplicates, maxLength, metric, anchor, positive, negative, negatives, dataset, sentence1, sentence2, score]))
            command.Options.Add(option);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            ContrastiveLossKind lossKind = EmbeddingTrainer.ParseLoss(parsed.GetValue(loss)!);
            ComputeOptions compute = model.Compute(parsed, cli);
            TrainingRunOptions options = training.Read(parsed, compute);   // before the model is fetched
            MatryoshkaDimensions? matryoshka = parsed.GetValue(dims) is { } widths
                ? new MatryoshkaDimensions([.. NumberList.Parse(widths, "--matryoshka-dims", "whole numbers").Select(d => (int)d == d ? (int)d
                        : throw NumberList.Bad(widths, "--matryoshka-dims", "whole numbers"))],
                    parsed.GetValue(weights) is { } w ? NumberList.Parse(w, "--matryoshka-weights") : null)
                : parsed.GetValue(weights) is null ? null : throw new EncoderKitException(ErrorKind.BadInput, "weights without --matryoshka-dims", field: "--matryoshka-weights");
            string folder = await DownloadProgressView.ResolveAsync(cli, parsed.GetValue(model.Model)!, parsed.GetValue(model.Revision), cli.Hub(), cancellationToken);
            var settings = new EmbeddingTrainingSettings(folder, parsed.GetValue(train)!, options)
            {
                Loss = lossKind, MiniBatchSize = parsed.GetValue(miniBatch), Matryoshka = matryoshka,
                QueryPrompt = new PromptChoice(parsed.GetValue(queryPrompt), parsed.GetValue(queryPromptName)),
                DocumentPrompt = new PromptChoice(parsed.GetValue(documentPrompt), parsed.GetValue(documentPromptName)),
                Columns = new ContrastiveColumns
                {
                    Anchor = parsed.GetValue(anchor)!, Positive = parsed.GetValue(positive)!, Negative = parsed.GetValue(negative)!, Negatives = parsed.GetValue(negatives)!,
                    Dataset = parsed.GetValue(dataset)!, Sentence1 = parsed.GetValue(sentence1)!, Sentence2 = parsed.GetValue(sentence2)!, Score = parsed.GetValue(score)!,
                },
                NoDuplicates = parsed.GetValue(noDuplicates), MaxSeqLength = parsed.GetValue(maxLength),
                ValidationFolder = parsed.GetValue(validation), ValidationSplit = parsed.GetValue(validationSplit)!, MainMetric = parsed.GetValue(metric)!,
                Compute = compute with { Dtype = ComputeDtype.Float32 },
                Resume = training.ReadResume(parsed),
            };
            TrainingSummary summary = await TrainingProgressView.RunAsync(cli, "training embeddings", progress => EmbeddingTrainer.RunAsync(settings, progress, cancellationToken));
            string log = Path.Combine(options.OutputFolder, "train_log.jsonl");
            if (File.Exists(log))
                TrainingCurves.Write(log, [settings.MainMetric, .. (matryoshka?.Dimensions ?? []).Select(d => settings.MainMetric + "_dim_" + d.ToString(CultureInfo.InvariantCulture))
                    .Where(m => m != settings.MainMetric && !settings.MainMetric.Contains("_dim_", StringComparison.Ordinal))]);
            cli.Out.WriteLine(TrainingProgressView.Outcome(summary, settings.MainMetric));
            return 0;
        });
        return command;
    }
}
