using System.CommandLine;
using EncoderKit.Compute;
using EncoderKit.Hub;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Cli.Commands;

/// <summary>The options of the commands that load a sentence encoder (embed, similarity, search), and the loading.</summary>
sealed class SentenceModelOptions
{
    readonly ModelOptions _model = new();

    public Option<int?> Dim { get; } = new("--dim") { Description = "Matryoshka: keep the first N dimensions, then normalise" };
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Inputs per forward pass", DefaultValueFactory = _ => 32 };
    public Option<int?> MaxLength { get; } = new("--max-length") { Description = "Truncate inputs to N tokens (default: the model's max_seq_length)" };
    public Option<bool> Normalize { get; } = new("--normalize") { Description = "L2-normalise even when the model has no Normalize module" };
    public Option<bool> NoNormalize { get; } = new("--no-normalize") { Description = "Return the vectors before the model's final Normalize module" };

    public void AddTo(Command command)
    {
        _model.AddTo(command);
        command.Options.Add(Dim);
        command.Options.Add(BatchSize);
        command.Options.Add(MaxLength);
        command.Options.Add(Normalize);
        command.Options.Add(NoNormalize);
    }

    /// <summary>Per call settings from the options; progress is added by the caller.</summary>
    public EmbedOptions Embed(ParseResult parsed) => (parsed.GetValue(Normalize), parsed.GetValue(NoNormalize)) switch
    {
        (true, true) => throw new EncoderKitException(ErrorKind.BadInput, "give --normalize or --no-normalize, not both", field: "--normalize"),
        (true, false) => new EmbedOptions { Normalize = true },
        (false, true) => new EmbedOptions { Normalize = false },
        _ => new EmbedOptions(),
    };

    /// <summary>--model loaded as a plain encoder with its heads (for a classifier), with the same device and dtype options.</summary>
    public Task<EncoderModel> LoadEncoderAsync(ParseResult parsed, CliInvocation cli, CancellationToken cancellationToken) =>
        _model.LoadAsync(parsed, cli, cancellationToken);

    /// <summary>--model's folder (a hub id fetched first), for what reads the model as files: fine-tuning.</summary>
    public Task<string> ResolveFolderAsync(ParseResult parsed, CliInvocation cli, CancellationToken cancellationToken) =>
        DownloadProgressView.ResolveAsync(cli, parsed.GetValue(_model.Model)!, parsed.GetValue(_model.Revision), cli.Hub(parsed.GetValue(_model.AllowPickle)), cancellationToken);

    /// <summary>--device, --dtype and --threads.</summary>
    public ComputeOptions Compute(ParseResult parsed, CliInvocation cli) => _model.Compute(parsed, cli);

    /// <summary>--model and --revision as given.</summary>
    public (string Model, string? Revision) Named(ParseResult parsed) => (parsed.GetValue(_model.Model)!, parsed.GetValue(_model.Revision));

    public async Task<SentenceEncoder> LoadAsync(ParseResult parsed, CliInvocation cli, CancellationToken cancellationToken)
    {
        int batchSize = parsed.GetValue(BatchSize);
        if (batchSize < 1) throw new EncoderKitException(ErrorKind.BadInput, $"must be at least 1, got {batchSize}", field: "--batch-size");
        string model = parsed.GetValue(_model.Model)!;
        string folder = await DownloadProgressView.ResolveAsync(cli, model, parsed.GetValue(_model.Revision), cli.Hub(parsed.GetValue(_model.AllowPickle)), cancellationToken);
        var options = new SentenceEncoderOptions
        {
            Model = model,
            Compute = _model.Compute(parsed, cli),
            TruncateDim = parsed.GetValue(Dim),
            BatchSize = batchSize,
            MaxSeqLength = parsed.GetValue(MaxLength),
            Logger = cli.Notes,
        };
        return SentenceEncoder.Load(folder, options);
    }
}
